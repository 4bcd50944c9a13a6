/**
 * `plan`: what a policy change would do to real data. The base and the working policy each run
 * over the same recorded events (in two workers at once), and their link sets are compared:
 * links added, removed and rescored, with the old and new confidence and the rules responsible,
 * grouped by rule and by iteration. The rule files themselves are compared too, so a reviewer
 * sees the cause (a threshold raised) next to its effect (the links it removed).
 * @module
 */
import type { RuleEvidence } from "../core/types.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { type Endpoint, type LinkRow, pairKey } from "./evaluate.ts";
import { evaluateInWorker, type RemoteEvaluation } from "./_parallel.ts";
import { whyNotLinked } from "./_explain.ts";

export type ChangeKind = "added" | "removed" | "rescored";

export interface LinkState {
  confidence: number;
  rules: RuleEvidence[];
}

export interface Change {
  change: ChangeKind;
  iteration_id: string;
  from: Endpoint;
  to: Endpoint;
  before?: LinkState;
  after?: LinkState;
  /** Rules whose evidence differs between the two (for a removed link: the rules that made it). */
  rules: string[];
  /** Why the other policy does not link the pair (added: the base; removed: the working one). */
  why?: string;
}

export interface PolicyChanges {
  rules_added: string[];
  rules_removed: string[];
  rules_modified: { rule: string; changes: string[] }[];
  settings: string[];
}

export interface Side {
  label: string;
  policy: string;
  links: number;
  dead_letters: number;
  elapsed_ms: number;
}

export interface PlanReport {
  base: Side;
  working: Side;
  corpus: { path: string; events: number };
  policy_changes: PolicyChanges;
  totals: Record<ChangeKind | "unchanged", number>;
  by_rule: ({ rule: string } & Record<ChangeKind, number>)[];
  by_iteration: ({ iteration_id: string } & Record<ChangeKind, number>)[];
  changes: Change[];
  elapsed_ms: number;
}

/** Compare two link sets: pairs are matched across orientation, within their iteration. */
export function diffLinks(base: LinkRow[], working: LinkRow[]): {
  changes: Change[];
  unchanged: number;
} {
  const before = new Map(base.map((l) => [pairKey(l.from, l.to), l]));
  const changes: Change[] = [];
  let unchanged = 0;
  for (const now of working) {
    const key = pairKey(now.from, now.to);
    const old = before.get(key);
    before.delete(key);
    const after = { confidence: now.confidence, rules: now.rules };
    const at = { iteration_id: now.iteration_id, from: now.from, to: now.to };
    if (!old) {
      changes.push({ change: "added", ...at, after, rules: now.rules.map((r) => r.rule) });
      continue;
    }
    const differ = evidenceDiff(old.rules, now.rules);
    if (Math.abs(old.confidence - now.confidence) < 1e-9 && differ.length === 0) {
      unchanged++;
      continue;
    }
    changes.push({
      change: "rescored",
      ...at,
      before: { confidence: old.confidence, rules: old.rules },
      after,
      // Same evidence, other confidence: the combination or min_confidence changed.
      rules: differ.length ? differ : now.rules.map((r) => r.rule),
    });
  }
  for (const old of before.values()) {
    changes.push({
      change: "removed",
      iteration_id: old.iteration_id,
      from: old.from,
      to: old.to,
      before: { confidence: old.confidence, rules: old.rules },
      rules: old.rules.map((r) => r.rule),
    });
  }
  const order: Record<ChangeKind, number> = { removed: 0, rescored: 1, added: 2 };
  changes.sort((a, b) =>
    order[a.change] - order[b.change] || a.iteration_id.localeCompare(b.iteration_id) ||
    pairKey(a.from, a.to).localeCompare(pairKey(b.from, b.to))
  );
  return { changes, unchanged };
}

/** Rules whose score differs, or that contribute on one side only. */
function evidenceDiff(a: RuleEvidence[], b: RuleEvidence[]): string[] {
  const x = new Map(a.map((r) => [r.rule, r.score]));
  const y = new Map(b.map((r) => [r.rule, r.score]));
  return [...new Set([...x.keys(), ...y.keys()])]
    .filter((r) => x.get(r) === undefined || y.get(r) === undefined || x.get(r) !== y.get(r))
    .sort();
}

/** What changed in the policy itself: rules added, removed, modified (key by key), settings. */
export function comparePolicies(base: CompiledSpec, working: CompiledSpec): PolicyChanges {
  const a = new Map(base.ruleSpecs.map((r) => [r.id, r]));
  const b = new Map(working.ruleSpecs.map((r) => [r.id, r]));
  const modified: PolicyChanges["rules_modified"] = [];
  for (const [id, r] of b) {
    const old = a.get(id);
    if (!old) continue;
    const changes = flatDiff(old, r);
    if (changes.length) modified.push({ rule: id, changes });
  }
  const settings: string[] = [];
  if (base.combine !== working.combine) {
    settings.push(`combine: ${base.combine} → ${working.combine}`);
  }
  if (base.min_confidence !== working.min_confidence) {
    settings.push(`min_confidence: ${base.min_confidence} → ${working.min_confidence}`);
  }
  return {
    rules_added: [...b.keys()].filter((id) => !a.has(id)).sort(),
    rules_removed: [...a.keys()].filter((id) => !b.has(id)).sort(),
    rules_modified: modified,
    settings,
  };
}

function flatDiff(a: unknown, b: unknown): string[] {
  const flat = (v: unknown, path: string, out: Map<string, string>) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) flat(x, path ? `${path}.${k}` : k, out);
    } else if (Array.isArray(v) && v.some((x) => x !== null && typeof x === "object")) {
      v.forEach((x, i) => flat(x, `${path}[${i}]`, out));
    } else out.set(path, JSON.stringify(v));
    return out;
  };
  const x = flat(a, "", new Map()), y = flat(b, "", new Map());
  return [...new Set([...x.keys(), ...y.keys()])].filter((k) => x.get(k) !== y.get(k))
    .map((k) => `${k}: ${x.get(k) ?? "(unset)"} → ${y.get(k) ?? "(unset)"}`);
}

export interface PlanOptions {
  base: { spec: CompiledSpec; label: string };
  working: { spec: CompiledSpec; label: string };
  corpus: string;
  /** Pairs explained (why the other policy does not link them), at most this many (default 500). */
  explainLimit?: number;
}

/** Run both policies over the corpus in parallel and compare. */
export async function plan(options: PlanOptions): Promise<PlanReport> {
  const started = performance.now();
  const runs: RemoteEvaluation[] = [];
  try {
    const settled = await Promise.allSettled([
      evaluateInWorker(options.base.spec.file, options.corpus),
      evaluateInWorker(options.working.spec.file, options.corpus),
    ]);
    for (const s of settled) if (s.status === "fulfilled") runs.push(s.value);
    const failed = settled.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [base, working] = runs;
    const { changes, unchanged } = diffLinks(base.links, working.links);
    await explainChanges(changes, base, working, options.explainLimit ?? 500);
    const side = (label: string, r: RemoteEvaluation): Side => ({
      label,
      policy: r.policy,
      links: r.links.length,
      dead_letters: r.deadLetters,
      elapsed_ms: Math.round(r.elapsed_ms),
    });
    return {
      base: side(options.base.label, base),
      working: side(options.working.label, working),
      corpus: { path: options.corpus, events: working.events },
      policy_changes: comparePolicies(options.base.spec, options.working.spec),
      totals: {
        added: changes.filter((c) => c.change === "added").length,
        removed: changes.filter((c) => c.change === "removed").length,
        rescored: changes.filter((c) => c.change === "rescored").length,
        unchanged,
      },
      by_rule: group(changes, (c) => c.rules, "rule"),
      by_iteration: group(changes, (c) => [c.iteration_id], "iteration_id"),
      changes,
      elapsed_ms: Math.round(performance.now() - started),
    };
  } finally {
    for (const r of runs) r.close();
  }
}

/** Ask the other side why it does not link an added (base) or removed (working) pair. */
async function explainChanges(
  changes: Change[],
  base: RemoteEvaluation,
  working: RemoteEvaluation,
  limit: number,
) {
  for (const [kind, side] of [["added", base], ["removed", working]] as const) {
    const list = changes.filter((c) => c.change === kind).slice(0, limit);
    const answers = await side.explain(list.map((c) => [c.from, c.to]));
    list.forEach((c, i) => c.why = whyNotLinked(answers[i], [c.from.label, c.to.label]));
  }
}

function group<K extends string>(
  changes: Change[],
  keys: (c: Change) => string[],
  name: K,
): ({ [P in K]: string } & Record<ChangeKind, number>)[] {
  const out = new Map<string, Record<ChangeKind, number>>();
  for (const c of changes) {
    for (const k of keys(c)) {
      const row = out.get(k) ?? { added: 0, removed: 0, rescored: 0 };
      row[c.change]++;
      out.set(k, row);
    }
  }
  const total = (r: Record<ChangeKind, number>) => r.added + r.removed + r.rescored;
  return [...out].sort(([a, x], [b, y]) => total(y) - total(x) || a.localeCompare(b))
    .map(([k, r]) => ({ [name]: k, ...r }) as { [P in K]: string } & Record<ChangeKind, number>);
}

/** Exit status for `--fail-on`: true when the report has a change of a listed kind. */
export function failsOn(report: PlanReport, kinds: (ChangeKind | "any")[]): boolean {
  return kinds.some((k) =>
    k === "any"
      ? report.totals.added + report.totals.removed + report.totals.rescored > 0
      : report.totals[k] > 0
  );
}
