/** The Markdown form of a quality report (readable in a terminal, ready for a PR comment). */
import type { Counts, QualityReport } from "./quality.ts";

const f = (x: number | null) => x === null ? "–" : x.toFixed(3);
const row = (c: Counts) =>
  `${f(c.precision)} | ${f(c.recall)} | ${f(c.f1)} | ${c.tp} | ${c.fp} | ${c.fn} | ${c.tn}`;

export function qualityMarkdown(
  r: QualityReport,
  source: { labels: string; corpus: string },
): string {
  const out = ["## Correlation quality", ""];
  out.push(
    `Policy \`${r.policy}\` (min_confidence ${r.min_confidence}) on \`${source.corpus}\`, ` +
      `${r.pairs} labelled pairs from \`${source.labels}\` (${r.matches} matches, ` +
      `${r.pairs - r.matches} non-matches).`,
    "",
  );
  out.push(
    "| | precision | recall | F1 | TP | FP | FN | TN |",
    "|---|--:|--:|--:|--:|--:|--:|--:|",
  );
  out.push(`| **overall** | ${row(r.overall)} |`, "");

  out.push("### By rule", "");
  out.push(
    "Precision over the labelled pairs a rule contributes to; recall over the matches it is meant " +
      "to find (its two entity labels, and a label family naming the rule, its kind or " +
      "kind_mode, or none).",
    "",
  );
  out.push("| rule | kind | expected | precision | recall | F1 | TP | FP | FN |");
  out.push("|---|---|--:|--:|--:|--:|--:|--:|--:|");
  for (const x of r.by_rule) {
    out.push(
      `| \`${x.rule}\` | ${x.kind} | ${x.expected} | ${f(x.precision)} | ${f(x.recall)} | ` +
        `${f(x.f1)} | ${x.tp} | ${x.fp} | ${x.fn} |`,
    );
  }
  out.push("", "### By label family", "");
  out.push("| family | pairs | precision | recall | F1 | TP | FP | FN | TN |");
  out.push("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const x of r.by_family) out.push(`| ${x.family} | ${x.pairs} | ${row(x)} |`);

  out.push("", "### Calibration by confidence band", "");
  out.push("| band | links | TP | FP | observed precision | mean confidence | gap |");
  out.push("|---|--:|--:|--:|--:|--:|--:|");
  for (const b of r.bands) {
    const last = b.to === r.bands.at(-1)?.to;
    out.push(
      `| [${b.from}, ${b.to}${last ? "]" : ")"} | ${b.links} | ${b.tp} | ${b.fp} | ` +
        `${f(b.observed_precision)} | ${f(b.mean_confidence)} | ${signed(b.gap)} |`,
    );
  }
  out.push(
    "",
    `Expected calibration error: ${f(r.calibration_error)} (a positive gap: the links are ` +
      "right more often than their confidence says).",
  );

  out.push("", "### At other min_confidence values", "");
  out.push("| min_confidence | precision | recall | F1 | TP | FP | FN | TN |");
  out.push("|--:|--:|--:|--:|--:|--:|--:|--:|");
  for (const t of r.thresholds) {
    const name = t.current ? `**${t.min_confidence}** (current)` : `${t.min_confidence}`;
    out.push(`| ${name} | ${row(t)} |`);
  }

  const notes: string[] = [];
  if (r.unlabelled_links) {
    notes.push(`- ${r.unlabelled_links} links in the labelled iterations have no label.`);
  }
  for (const u of r.unresolved) {
    notes.push(`- ${u.at}: ${u.missing.join(" and ")} not in the evaluated graph.`);
  }
  const wrong = r.outcomes.filter((o) => o.linked !== o.label.match);
  for (const o of wrong.slice(0, 20)) {
    const what = o.linked
      ? `linked at ${o.confidence} (${o.rules.join(", ")}) but labelled a non-match`
      : `labelled a match but not linked${o.score ? ` (score ${o.score})` : ""}`;
    const ref = (e: typeof o.label.left) => `${e.label}:${e.iteration_id}:${e.key.join("|")}`;
    notes.push(`- ${o.label.at}: \`${ref(o.label.left)}\` ~ \`${ref(o.label.right)}\` ${what}`);
  }
  if (wrong.length > 20) notes.push(`- …and ${wrong.length - 20} more errors (see --format json)`);
  if (notes.length) out.push("", "### Notes", "", ...notes);

  out.push("", "### Gates", "");
  if (r.gates.length === 0) out.push("No gates configured.");
  for (const g of r.gates) {
    out.push(`- ${g.passed ? "✓" : "✗"} ${g.gate} (${f(g.value)})`);
  }
  out.push("", r.passed ? "**Quality gates passed.**" : "**Quality gates failed.**");
  return out.join("\n") + "\n";
}

function signed(x: number | null): string {
  return x === null ? "–" : `${x >= 0 ? "+" : ""}${x.toFixed(3)}`;
}
