/**
 * Quality of a correlation policy against labelled pairs: precision, recall and F1 overall, per
 * rule and per label family; a calibration table (observed precision per confidence band against
 * the band's confidence); what min_confidence values would give; and gates (thresholds) that fail
 * CI when quality drops.
 *
 * A labelled pair is predicted linked when the evaluation holds a link for it. A rule predicts a
 * pair when it contributes to its link: its precision is over those pairs; its recall over the
 * matches it is meant to find (its two entity labels, and a label `family` naming the rule, its
 * kind or kind_mode, or no family). The score behind the threshold table is the engine's
 * `explain` confidence, which also covers pairs below min_confidence.
 * @module
 */
import type { CompiledSpec } from "../compiler/mod.ts";
import { type Evaluation, pairKey } from "./evaluate.ts";
import { engineOf, explainPair } from "./_explain.ts";
import type { Label } from "./_labels.ts";
import { type QualityConfig, type QualityGates, qualitySchema } from "../compiler/mod.ts";

export { loadLabels } from "./_labels.ts";
export { labelSchema } from "./schema.ts";
export { qualitySchema };
export type { Label, QualityConfig };

export interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export interface PairOutcome {
  label: Label;
  linked: boolean;
  confidence: number | null;
  rules: string[];
  /** Combined confidence of the rules that fire, linked or not (0 when none fires). */
  score: number;
  missing: string[];
}

export interface Band {
  from: number;
  to: number;
  links: number;
  tp: number;
  fp: number;
  observed_precision: number | null;
  mean_confidence: number | null;
  gap: number | null;
}

export interface QualityReport {
  policy: string;
  min_confidence: number;
  pairs: number;
  matches: number;
  overall: Counts;
  /** `expected`: the labelled matches the rule is meant to find (its recall's denominator). */
  by_rule: ({ rule: string; kind: string; expected: number } & Counts)[];
  by_family: ({ family: string; pairs: number } & Counts)[];
  bands: Band[];
  /** Expected calibration error: the link-weighted mean |observed precision − mean confidence|. */
  calibration_error: number | null;
  thresholds: ({ min_confidence: number; current: boolean } & Counts)[];
  /** Links in labelled iterations that no label covers (the label set may need them). */
  unlabelled_links: number;
  /** Labels whose endpoint is not in the evaluated graph (a typo, or the corpus lacks it). */
  unresolved: { at: string; missing: string[] }[];
  outcomes: PairOutcome[];
  gates: { gate: string; value: number | null; limit: number; passed: boolean }[];
  passed: boolean;
}

export function counts(tp: number, fp: number, fn: number, tn: number): Counts {
  const precision = tp + fp ? round(tp / (tp + fp)) : null;
  const recall = tp + fn ? round(tp / (tp + fn)) : null;
  return { tp, fp, fn, tn, precision, recall, f1: f1(precision, recall) };
}

function f1(precision: number | null, recall: number | null): number | null {
  if (precision === null || recall === null) return null;
  return precision + recall > 0 ? round((2 * precision * recall) / (precision + recall)) : 0;
}

/** Measure an evaluation against labels, and check the gates of `config`. */
export function measure(
  spec: CompiledSpec,
  evaluation: Evaluation,
  labels: Label[],
  config: QualityConfig = qualitySchema.parse({}),
): QualityReport {
  const engine = engineOf(spec);
  const byPair = new Map(evaluation.links.map((l) => [pairKey(l.from, l.to), l]));
  const outcomes: PairOutcome[] = labels.map((label) => {
    const link = byPair.get(pairKey(label.left, label.right));
    const x = explainPair(engine, spec, evaluation.entities, label.left, label.right);
    return {
      label,
      linked: !!link,
      confidence: link?.confidence ?? null,
      rules: link?.rules.map((r) => r.rule) ?? [],
      score: x.verdicts.some((v) => v.verdict === "fired") ? x.confidence : 0,
      missing: x.missing.map((m) => m.ref),
    };
  });
  const tally = (list: PairOutcome[], predicted: (o: PairOutcome) => boolean) => {
    let tp = 0, fp = 0, fn = 0, tn = 0;
    for (const o of list) {
      const p = predicted(o);
      if (o.label.match) p ? tp++ : fn++;
      else p ? fp++ : tn++;
    }
    return counts(tp, fp, fn, tn);
  };
  const overall = tally(outcomes, (o) => o.linked);

  const by_rule = spec.rules.map((rule) => {
    const mode = (spec.ruleSpecs.find((r) => r.id === rule.id) as { mode?: string } | undefined)
      ?.mode;
    const names = [rule.id, rule.kind, ...(mode ? [`${rule.kind}_${mode}`] : [])];
    // Recall is over the matches this rule is meant to find: its two labels, one iteration, and
    // a family naming this rule (or none); precision over every labelled pair it contributes to.
    const expected = outcomes.filter((o) =>
      o.label.match && o.label.left.iteration_id === o.label.right.iteration_id &&
      ((o.label.left.label === rule.left && o.label.right.label === rule.right) ||
        (o.label.left.label === rule.right && o.label.right.label === rule.left)) &&
      (o.label.families.length === 0 || o.label.families.some((f) => names.includes(f)))
    );
    const predicted = outcomes.filter((o) => o.rules.includes(rule.id));
    const tp = predicted.filter((o) => o.label.match).length;
    const found = expected.filter((o) => o.rules.includes(rule.id)).length;
    const c = counts(tp, predicted.length - tp, expected.length - found, 0);
    return {
      rule: rule.id,
      kind: mode ? `${rule.kind} ${mode}` : rule.kind,
      expected: expected.length,
      ...c,
      recall: expected.length ? round(found / expected.length) : null,
      f1: f1(c.precision, expected.length ? round(found / expected.length) : null),
    };
  });
  const families = [
    ...new Set(outcomes.flatMap((o) => o.label.families.length ? o.label.families : ["(none)"])),
  ].sort();
  const by_family = families.map((family) => {
    const list = outcomes.filter((o) =>
      o.label.families.includes(family) || (family === "(none)" && !o.label.families.length)
    );
    return { family, pairs: list.length, ...tally(list, (o) => o.linked) };
  });

  const edges = [...new Set(config.bands)].sort((a, b) => a - b);
  const linked = outcomes.filter((o) => o.linked);
  const bands: Band[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [from, to] = [edges[i], edges[i + 1]];
    const last = i + 2 === edges.length;
    const inside = linked.filter((o) =>
      o.confidence! >= from && (o.confidence! < to || (last && o.confidence! <= to))
    );
    if (inside.length === 0) continue;
    const tp = inside.filter((o) => o.label.match).length;
    const observed = round(tp / inside.length);
    const mean = round(inside.reduce((s, o) => s + o.confidence!, 0) / inside.length);
    bands.push({
      from,
      to,
      links: inside.length,
      tp,
      fp: inside.length - tp,
      observed_precision: observed,
      mean_confidence: mean,
      gap: round(observed - mean),
    });
  }
  const calibration_error = linked.length
    ? round(bands.reduce((s, b) => s + (b.links / linked.length) * Math.abs(b.gap!), 0))
    : null;
  const cuts = [...new Set([...edges.filter((e) => e > 0), spec.min_confidence])].sort((a, b) =>
    a - b
  );
  const thresholds = cuts.map((t) => ({
    min_confidence: t,
    current: t === spec.min_confidence,
    ...tally(outcomes, (o) => o.score > 0 && o.score >= t),
  }));

  const labelled = new Set(outcomes.map((o) => pairKey(o.label.left, o.label.right)));
  const iterations = new Set(labels.flatMap((l) => [l.left.iteration_id, l.right.iteration_id]));
  const unlabelled =
    evaluation.links.filter((l) =>
      iterations.has(l.iteration_id) && !labelled.has(pairKey(l.from, l.to))
    ).length;

  const report: QualityReport = {
    policy: spec.policy,
    min_confidence: spec.min_confidence,
    pairs: outcomes.length,
    matches: outcomes.filter((o) => o.label.match).length,
    overall,
    by_rule,
    by_family,
    bands,
    calibration_error,
    thresholds,
    unlabelled_links: unlabelled,
    unresolved: outcomes.filter((o) => o.missing.length).map((o) => ({
      at: o.label.at,
      missing: o.missing,
    })),
    outcomes,
    gates: [],
    passed: true,
  };
  report.gates = checkGates(report, config);
  report.passed = report.gates.every((g) => g.passed);
  return report;
}

function checkGates(r: QualityReport, config: QualityConfig): QualityReport["gates"] {
  const out: QualityReport["gates"] = [];
  const check = (name: string, c: Counts, g: QualityGates) => {
    for (const metric of ["precision", "recall", "f1"] as const) {
      const limit = g[`min_${metric}`];
      if (limit === undefined) continue;
      const value = c[metric];
      out.push({
        gate: `${name}${metric} ≥ ${limit}`,
        value,
        limit,
        passed: (value ?? -1) >= limit,
      });
    }
  };
  check("", r.overall, config);
  for (const [id, g] of Object.entries(config.rules)) {
    const row = r.by_rule.find((x) => x.rule === id);
    if (row) check(`${id}: `, row, g);
    else out.push({ gate: `${id}: a rule of the policy`, value: null, limit: 0, passed: false });
  }
  if (config.max_calibration_error !== undefined) {
    const value = r.calibration_error;
    out.push({
      gate: `calibration error ≤ ${config.max_calibration_error}`,
      value,
      limit: config.max_calibration_error,
      passed: value !== null && value <= config.max_calibration_error,
    });
  }
  return out;
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
