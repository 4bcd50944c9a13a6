/**
 * The Markdown form of a plan, ready for a pull request comment: the headline counts, what
 * changed in the policy, the changes by rule and by iteration, and a few examples per rule.
 * @module
 */
import type { RuleEvidence } from "../core/types.ts";
import { refText } from "./evaluate.ts";
import type { Change, ChangeKind, PlanReport } from "./plan.ts";

const KINDS: ChangeKind[] = ["removed", "rescored", "added"];

export function planMarkdown(r: PlanReport, examples = 3, iterations = 10): string {
  const t = r.totals;
  const out: string[] = ["## Correlation policy plan", ""];
  out.push("| | base | working |", "|---|---|---|");
  out.push(
    `| policy | \`${r.base.policy}\` ${cell(r.base.label)} | \`${r.working.policy}\` ${
      cell(r.working.label)
    } |`,
  );
  out.push(`| links | ${r.base.links} | ${r.working.links} |`);
  out.push(`| dead letters | ${r.base.dead_letters} | ${r.working.dead_letters} |`, "");
  out.push(
    `Corpus: \`${r.corpus.path}\`, ${r.corpus.events.toLocaleString("en")} events; ` +
      `both policies evaluated in ${(r.elapsed_ms / 1000).toFixed(1)} s.`,
    "",
  );
  out.push(
    `**${t.added} added · ${t.removed} removed · ${t.rescored} rescored** · ${t.unchanged} unchanged`,
    "",
  );
  const p = r.policy_changes;
  const policyLines = [
    ...p.rules_added.map((id) => `- rule \`${id}\` added`),
    ...p.rules_removed.map((id) => `- rule \`${id}\` removed`),
    ...p.rules_modified.map((m) =>
      `- rule \`${m.rule}\`: ${m.changes.map((c) => `\`${c}\``).join(", ")}`
    ),
    ...p.settings.map((s) => `- \`${s}\``),
  ];
  out.push("**Policy changes**", "", ...(policyLines.length ? policyLines : ["- none"]), "");
  if (t.added + t.removed + t.rescored === 0) {
    out.push("No link changes.");
    return out.join("\n") + "\n";
  }

  out.push("### By rule", "", "| rule | removed | rescored | added |", "|---|--:|--:|--:|");
  for (const g of r.by_rule) {
    out.push(`| \`${g.rule}\` | ${g.removed} | ${g.rescored} | ${g.added} |`);
  }
  out.push("", "### By iteration", "", "| iteration | removed | rescored | added | example |");
  out.push("|---|--:|--:|--:|---|");
  for (const g of r.by_iteration.slice(0, iterations)) {
    const c = r.changes.find((x) => x.iteration_id === g.iteration_id)!;
    out.push(
      `| ${cell(g.iteration_id)} | ${g.removed} | ${g.rescored} | ${g.added} | ${c.change} ${
        linkCell(c)
      } |`,
    );
  }
  if (r.by_iteration.length > iterations) {
    out.push("", `…and ${r.by_iteration.length - iterations} more iterations (see --format json).`);
  }

  const rows: string[] = [];
  for (const g of r.by_rule) {
    const mine = r.changes.filter((c) => c.rules.includes(g.rule));
    const picked = KINDS.flatMap((k) => mine.filter((c) => c.change === k).slice(0, examples));
    rows.push(
      "",
      `#### \`${g.rule}\``,
      "",
      "| change | iteration | link | confidence | evidence |",
      "|---|---|---|---|---|",
    );
    for (const c of picked) {
      rows.push(
        `| ${c.change} | ${cell(c.iteration_id)} | ${linkCell(c)} | ${confidence(c)} | ${
          evidence(c)
        } |`,
      );
    }
  }
  out.push("", "### Examples");
  if (rows.length > 40) out.push("<details><summary>Examples by rule</summary>", "");
  out.push(...rows);
  if (rows.length > 40) out.push("", "</details>");
  return out.join("\n") + "\n";
}

function linkCell(c: Change): string {
  return `\`${cell(refText(c.from))}\` ~ \`${cell(refText(c.to))}\``;
}

function confidence(c: Change): string {
  return `${c.before?.confidence ?? "–"} → ${c.after?.confidence ?? "–"}`;
}

function evidence(c: Change): string {
  const scores = (rules: RuleEvidence[] | undefined) =>
    new Map((rules ?? []).map((r) => [r.rule, r.score]));
  const before = scores(c.before?.rules), after = scores(c.after?.rules);
  const parts = [...new Set([...before.keys(), ...after.keys()])].sort().map((rule) => {
    const x = before.get(rule), y = after.get(rule);
    if (c.change !== "rescored") return `${rule} ${x ?? y}`;
    return x === y ? `${rule} ${x}` : `${rule} ${x ?? "–"} → ${y ?? "–"}`;
  });
  const why = c.why ? `<br>${c.change === "added" ? "before" : "now"}: ${c.why}` : "";
  return cell(parts.join(", ") + why);
}

/** Table-safe text: pipes escaped, newlines flattened. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
