/**
 * Rule tests: each case of `rules/tests/*.yaml` feeds its events through the real pipeline (see
 * {@link evaluate}) once per arrival order, then checks the links: expected ones exist (with the
 * rules and confidence asked for), forbidden ones do not, and, when the case is exhaustive,
 * nothing else is linked. A failure carries what a reviewer needs: the actual links with their
 * rules and scores, and for a missing link the engine's explanation of the closest rule.
 * @module
 */
import type { CompiledSpec } from "../compiler/mod.ts";
import type { DeadLetter } from "../core/types.ts";
import type { SpecError } from "../yaml/mod.ts";
import { evaluate, type EventInput, type LinkRow, pairKey } from "./evaluate.ts";
import { engineOf, explainPair, type PairExplanation, type Verdict } from "./_explain.ts";
import {
  type Arrival,
  type Confidence,
  type Expectation,
  type Forbidden,
  loadRuleTests,
  type ResolvedCase,
} from "./_rule_test_file.ts";

export { loadRuleTests } from "./_rule_test_file.ts";
export { ruleTestFileSchema } from "./schema.ts";
export type { Expectation, Forbidden, ResolvedCase };

export type Failure =
  | { type: "missing"; expect: Expectation; explanation: PairExplanation }
  | { type: "rules"; expect: Expectation; link: LinkRow; absent: Verdict[] }
  | { type: "confidence"; expect: Expectation; link: LinkRow }
  | { type: "forbidden"; forbid: Forbidden; link: LinkRow }
  | { type: "unexpected"; link: LinkRow }
  | { type: "dead_letter"; letter: DeadLetter; origin: string };

export interface CaseResult {
  file: string;
  name: string;
  line: number;
  arrival: Arrival;
  passed: boolean;
  failures: Failure[];
  links: LinkRow[];
  elapsed_ms: number;
}

export interface RuleTestReport {
  policy: string;
  files: string[];
  results: CaseResult[];
  passed: number;
  failed: number;
  errors: SpecError[];
}

/** Load every file, then (when none has errors) run every case. */
export async function runRuleTests(
  spec: CompiledSpec,
  files: string[],
  filter?: (name: string) => boolean,
): Promise<RuleTestReport> {
  const errors: SpecError[] = [];
  const cases: ResolvedCase[] = [];
  for (const f of files) {
    const loaded = await loadRuleTests(f, spec);
    errors.push(...loaded.errors);
    cases.push(...loaded.cases.filter((c) => !filter || filter(c.name)));
  }
  const report: RuleTestReport = {
    policy: spec.policy,
    files: [...new Set(cases.map((c) => c.file))],
    results: [],
    passed: 0,
    failed: 0,
    errors,
  };
  if (errors.length) return report;
  for (const c of cases) {
    for (const arrival of c.arrival) {
      const result = await runCase(spec, c, arrival);
      report.results.push(result);
      result.passed ? report.passed++ : report.failed++;
    }
  }
  return report;
}

/** Run one case in one arrival order. */
export async function runCase(
  spec: CompiledSpec,
  c: ResolvedCase,
  arrival: Arrival,
): Promise<CaseResult> {
  const started = performance.now();
  const order = arrange(c.events.map((_, i) => i), arrival, c.name);
  const events: EventInput[] = order.map((i) => c.events[i]);
  const ev = await evaluate(spec, events, { batchSize: c.batchSize, source: c.file });
  const engine = engineOf(spec);
  const failures: Failure[] = [];
  if (!c.allowDeadLetters) {
    for (const letter of ev.deadLetters) {
      const line = letter.position.kind === "file" ? letter.position.line : 0;
      failures.push({ type: "dead_letter", letter, origin: c.origins[order[line - 1]] ?? "?" });
    }
  }
  const byPair = new Map(ev.links.map((l) => [pairKey(l.from, l.to), l]));
  const asserted = new Set<string>();
  for (const x of c.expect) {
    const key = pairKey(x.left, x.right);
    asserted.add(key);
    const link = byPair.get(key);
    if (!link) {
      const explanation = explainPair(engine, spec, ev.entities, x.left, x.right);
      failures.push({ type: "missing", expect: x, explanation });
      continue;
    }
    const contributing = new Set(link.rules.map((r) => r.rule));
    const absent = (x.rules ?? []).filter((r) => !contributing.has(r));
    if (absent.length) {
      const verdicts = explainPair(engine, spec, ev.entities, x.left, x.right).verdicts;
      failures.push({
        type: "rules",
        expect: x,
        link,
        absent: absent.map((r) =>
          verdicts.find((v) => v.rule === r) ??
            { rule: r, kind: "?", verdict: "not applicable" as const }
        ),
      });
    }
    if (x.confidence !== undefined && !withinConfidence(link.confidence, x.confidence)) {
      failures.push({ type: "confidence", expect: x, link });
    }
  }
  for (const f of c.forbid) {
    const key = pairKey(f.left, f.right);
    asserted.add(key);
    const link = byPair.get(key);
    if (!link) continue;
    if (!f.rules || link.rules.some((r) => f.rules!.includes(r.rule))) {
      failures.push({ type: "forbidden", forbid: f, link });
    }
  }
  if (c.exhaustive) {
    for (const [key, link] of byPair) {
      if (!asserted.has(key)) failures.push({ type: "unexpected", link });
    }
  }
  return {
    file: c.file,
    name: c.name,
    line: c.line,
    arrival,
    passed: failures.length === 0,
    failures,
    links: ev.links,
    elapsed_ms: performance.now() - started,
  };
}

/** Exact confidences match to the decimals written, at least two: 0.399 accepts 0.398667. */
export function withinConfidence(actual: number, expected: Confidence): boolean {
  if (typeof expected === "number") {
    const decimals = Math.min(6, Math.max(2, (String(expected).split(".")[1] ?? "").length));
    const f = 10 ** decimals;
    return Math.abs(Math.round(actual * f) / f - expected) < 1e-9;
  }
  return (expected.min === undefined || actual >= expected.min - 1e-9) &&
    (expected.max === undefined || actual <= expected.max + 1e-9);
}

export function confidenceText(c: Confidence): string {
  if (typeof c === "number") return `${c}`;
  if (c.min !== undefined && c.max !== undefined) return `between ${c.min} and ${c.max}`;
  return c.min !== undefined ? `at least ${c.min}` : `at most ${c.max}`;
}

/** Indexes in arrival order; `shuffled` is seeded by the case name (the same on every run). */
function arrange(indexes: number[], arrival: Arrival, seed: string): number[] {
  if (arrival === "reversed") return indexes.reverse();
  if (arrival === "as_written") return indexes;
  let s = 2166136261;
  for (const ch of seed) s = Math.imul(s ^ ch.charCodeAt(0), 16777619) >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let i = indexes.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [indexes[i], indexes[j]] = [indexes[j], indexes[i]];
  }
  return indexes;
}
