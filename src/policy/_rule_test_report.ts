/**
 * Text and JSON forms of a rule test report. A failed case shows a diff of its links: `-` for an
 * expected link that is missing (with the closest rule's explanation), `+` for a link that should
 * not be there, and the other links it made, each with its rules and scores.
 * @module
 */
import type { RuleEvidence } from "../core/types.ts";
import { formatErrors } from "../yaml/mod.ts";
import { type LinkRow, pairKey, refText } from "./evaluate.ts";
import { whyNotLinked } from "./_explain.ts";
import {
  type CaseResult,
  confidenceText,
  type Failure,
  type RuleTestReport,
} from "./rule_tests.ts";

export function formatRuleTestReport(report: RuleTestReport, verbose = false): string {
  if (report.errors.length) {
    const n = report.errors.length;
    return `${formatErrors(report.errors)}\n\n${n} error${n === 1 ? "" : "s"} in the rule tests.`;
  }
  const lines: string[] = [];
  const cases = new Map<string, CaseResult[]>();
  for (const r of report.results) {
    const k = `${r.file}\u0000${r.name}`;
    cases.set(k, [...(cases.get(k) ?? []), r]);
  }
  let file = "";
  let passed = 0;
  let failed = 0;
  for (const runs of cases.values()) {
    const first = runs[0];
    if (first.file !== file) lines.push(file = first.file);
    const ms = runs.reduce((t, r) => t + r.elapsed_ms, 0);
    const orders = runs.map((r) => r.arrival).join(", ");
    if (runs.every((r) => r.passed)) {
      passed++;
      lines.push(`  ✓ ${first.name} (${orders})  ${Math.round(ms)} ms`);
      if (verbose) lines.push(...linkLines(first, []).map((l) => `      ${l}`));
      continue;
    }
    failed++;
    // Arrival orders that fail the same way are shown once.
    const byText = new Map<string, string[]>();
    for (const r of runs.filter((r) => !r.passed)) {
      const text = failureBlock(r).join("\n");
      byText.set(text, [...(byText.get(text) ?? []), r.arrival]);
    }
    for (const [text, arrivals] of byText) {
      lines.push(`  ✗ ${first.name} [${arrivals.join(", ")}]  ${first.file}:${first.line}`);
      lines.push(text);
    }
  }
  lines.push("");
  const runs = report.results.length;
  lines.push(
    `${passed} passed, ${failed} failed (${cases.size} case${cases.size === 1 ? "" : "s"}, ` +
      `${runs} run${runs === 1 ? "" : "s"} over arrival orders; policy ${report.policy})`,
  );
  return lines.join("\n");
}

function failureBlock(r: CaseResult): string[] {
  const out: string[] = [];
  const pad = (s: string) => s.padEnd(13);
  for (const f of r.failures) {
    switch (f.type) {
      case "missing":
        out.push(`${pad("missing")}${pairText(f.expect)}  (${f.expect.at})`);
        out.push(
          `${pad("")}${whyNotLinked(f.explanation, [f.expect.left.label, f.expect.right.label])}`,
        );
        break;
      case "rules":
        out.push(
          `${pad("rules")}${pairText(f.expect)} is linked at ${f.link.confidence}, ` +
            `but not by ${f.absent.map((v) => v.rule).join(", ")}  (${f.expect.at})`,
        );
        for (const v of f.absent) {
          out.push(
            `${pad("")}${v.rule}: ${v.verdict}${
              v.score !== undefined ? `, score ${v.score}` : ""
            }` +
              (v.reason ? `: ${v.reason}` : ""),
          );
        }
        break;
      case "confidence":
        out.push(
          `${pad("confidence")}${pairText(f.expect)} is linked at ${f.link.confidence}, ` +
            `expected ${confidenceText(f.expect.confidence!)}  (${f.expect.at})`,
        );
        out.push(`${pad("")}${evidence(f.link.rules)}`);
        break;
      case "forbidden":
        out.push(
          `${pad("forbidden")}${pairText(f.forbid)} is linked at ${f.link.confidence}` +
            (f.forbid.rules ? ` with ${f.forbid.rules.join(", ")}` : "") + `  (${f.forbid.at})`,
        );
        out.push(`${pad("")}${evidence(f.link.rules, true)}`);
        break;
      case "unexpected":
        out.push(`${pad("unexpected")}${linkText(f.link)} (the case is exhaustive)`);
        break;
      case "dead_letter":
        out.push(
          `${pad("dead letter")}${f.origin}: ${f.letter.category}: ${f.letter.reason}`,
        );
        break;
    }
  }
  const indent = (s: string) => `      ${s}`;
  return [...out.map(indent), indent("links:"), ...linkLines(r, r.failures).map(indent)];
}

/** The link diff: `-` missing, `+` should not be there, two spaces for the other links. */
function linkLines(r: CaseResult, failures: Failure[]): string[] {
  const bad = new Set<string>();
  const out: string[] = [];
  for (const f of failures) {
    if (f.type === "missing") out.push(`- ${pairText(f.expect)}  (expected)`);
    if (f.type === "forbidden") bad.add(pairKey(f.forbid.left, f.forbid.right));
    if (f.type === "unexpected") bad.add(pairKey(f.link.from, f.link.to));
  }
  for (const l of r.links) {
    out.push(`${bad.has(pairKey(l.from, l.to)) ? "+" : " "} ${linkText(l)}`);
  }
  if (r.links.length === 0) out.push("  (no links)");
  return out;
}

function pairText(p: { left: { label: string; key: string[] }; right: typeof p.left }): string {
  return `${refText(p.left)} ~ ${refText(p.right)}`;
}

function linkText(l: LinkRow): string {
  const iteration = l.iteration_id === "it-test" ? "" : `${l.iteration_id} `;
  return `${iteration}${refText(l.from)} ~ ${refText(l.to)}  ${l.confidence}  ${evidence(l.rules)}`;
}

function evidence(rules: RuleEvidence[], matched = false): string {
  return rules.map((r) => {
    const detail = r.detail?.similarity !== undefined ? ` (similarity ${r.detail.similarity})` : "";
    const values = matched
      ? ` matched ${JSON.stringify(r.matched.left)} ~ ${JSON.stringify(r.matched.right)}`
      : "";
    return `${r.rule} ${r.score}${detail}${values}`;
  }).join(", ");
}

/** A machine-readable report (`--json`). */
export function ruleTestReportJson(report: RuleTestReport) {
  return {
    policy: report.policy,
    passed: report.results.every((r) => r.passed) && report.errors.length === 0,
    errors: report.errors,
    runs: report.results.map((r) => ({
      file: r.file,
      name: r.name,
      line: r.line,
      arrival: r.arrival,
      passed: r.passed,
      elapsed_ms: Math.round(r.elapsed_ms),
      failures: r.failures,
      links: r.links,
    })),
  };
}
