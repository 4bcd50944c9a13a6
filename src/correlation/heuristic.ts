/**
 * `heuristic`: weighted circumstantial evidence (similar names, close in time, a shared value) that
 * two entities are related, e.g. a dde task `run_user_service_tests` and a bdv scenario "User service
 * returns the profile" seen a minute apart. Weak by design: confidence is capped at 0.5.
 *
 * Candidates are found through the name_similarity and same_value features (time proximity alone
 * cannot be looked up, so the schema rejects a rule whose time features alone could reach the
 * threshold: it would fire on pairs the engine never evaluates). Every same_value feature keys the
 * whole value: a pair with an equal value is a candidate. A pair with no equal value fires only on
 * its names; with W the total weight, T the time features' weight, θ' = threshold − 10⁻⁶ (the score
 * is rounded to 6 decimals) and, for a name feature i of weight wᵢ, Rᵢ the other name features'
 * weight, its names' Dice coefficient is at least δᵢ = (θ'·W − T − Rᵢ) / wᵢ. The rule blocks on the
 * name feature with the largest δᵢ (`_blocking.ts`): with the shipped rule (name 0.6, time 0.4,
 * threshold 0.6) δ = 1/3, so two names that share a single word are candidates only when they
 * have six words or fewer between them, and otherwise must share two (three from 13 words).
 *
 * Time: when the rule has time features and two different names of at most L words each cannot
 * fire without them (wᵢ·(1 − 1/(2L)) + Rᵢ < θ'·W, since the Dice coefficient of two different
 * lists of at most L words is at most 1 − 1/(2L)), every such pair that fires is less than the
 * largest window apart: names are then also keyed by time bucket (the largest window, of the
 * entity's first sighting; the engine re-indexes an entity whose first sighting moves) and look up
 * their bucket and the two next to it, so only names seen around the same time are compared.
 * Identical names meet at any distance, and names of more than L words (about 300,000 with the
 * shipped weights) without time. Where no L ≥ 1 qualifies, names are not bucketed.
 *
 * Where no name feature has δᵢ > 0 (the other features can reach the threshold without it), every
 * name feature keys each of its words, and any shared word makes a candidate.
 * @module
 */
import { z } from "zod";
import type { EntityView, Evaluation, Rule, RuleKind, Side } from "./_types.ts";
import { type Blocking, type DiceBlocker, diceBlocking } from "./_blocking.ts";
import {
  dice,
  entityLabel,
  propertyName,
  ruleDescription,
  ruleId,
  textOf,
  threshold,
  wordTokens,
} from "./_similarity.ts";

const STOP_WORDS = [
  "the",
  "a",
  "an",
  "of",
  "to",
  "for",
  "and",
  "returns",
  "run",
  "test",
  "tests",
  "is",
];

const weight = z.number().positive().default(1).describe("Weight of this feature (default 1)");
const leftProp = propertyName.describe("Property of the left entity");
const rightProp = propertyName.describe("Property of the right entity");

const feature = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("name_similarity"),
    left: leftProp,
    right: rightProp,
    weight,
    stop_words: z.array(z.string()).default(STOP_WORDS).describe(
      "Words ignored when comparing names",
    ),
  }).describe("Dice coefficient of the two names' word tokens"),
  z.strictObject({
    type: z.literal("time_proximity"),
    window_seconds: z.number().positive().describe("Gap between first sightings that scores 0"),
    weight,
  }).describe("1 - |gap between first sightings| / window, floored at 0"),
  z.strictObject({
    type: z.literal("same_value"),
    left: leftProp,
    right: rightProp,
    weight,
  }).describe("1 when both properties hold the same non-empty value, else 0"),
]);
type Feature = z.infer<typeof feature>;

const schema = z.strictObject({
  id: ruleId,
  kind: z.literal("heuristic"),
  description: ruleDescription,
  left: z.strictObject({ entity: entityLabel }).describe("The left entity"),
  right: z.strictObject({ entity: entityLabel }).describe("The right entity"),
  features: z.array(feature).min(1).describe("The evidence, combined as a weighted mean"),
  threshold: threshold(0.6, "Weighted score"),
  confidence: z.number().min(0).max(0.5, {
    error: "heuristic confidence must be at most 0.5; use an explicit_id, file_path or tag rule " +
      "for stronger evidence",
  }).default(0.5).describe(
    "Confidence the rule contributes when it fires, in [0,0.5] (default 0.5)",
  ),
}).superRefine((config, ctx) => {
  const indexed = config.features.filter((f) => f.type !== "time_proximity");
  if (config.features.length === 0) return; // already reported by min(1)
  if (indexed.length === 0) {
    ctx.addIssue({
      code: "custom",
      path: ["features"],
      message: "a heuristic rule needs a name_similarity or same_value feature to find candidates",
    });
    return;
  }
  const total = config.features.reduce((s, f) => s + f.weight, 0);
  const unindexed = total - indexed.reduce((s, f) => s + f.weight, 0);
  // Rounded as the score is: a share of 0.5999996 scores 0.6.
  if (unindexed > 0 && Math.round((unindexed / total) * 1e6) / 1e6 >= config.threshold) {
    ctx.addIssue({
      code: "custom",
      path: ["threshold"],
      message: `time_proximity alone reaches the threshold ${config.threshold} ` +
        `(weight share ${(unindexed / total).toFixed(2)}), but candidates are found only through ` +
        "name_similarity and same_value features; raise the threshold or their weights",
    });
  }
}).describe("Link two entities on weighted circumstantial evidence (confidence at most 0.5)");

export type HeuristicConfig = z.infer<typeof schema>;

/** Detail names: the feature type, or `type:left:right` (`type:window`) when a type repeats. */
function featureNames(features: Feature[]): string[] {
  return features.map((f) => {
    if (features.filter((g) => g.type === f.type).length === 1) return f.type;
    return f.type === "time_proximity"
      ? `${f.type}:${f.window_seconds}`
      : `${f.type}:${f.left}:${f.right}`;
  });
}

function create(config: HeuristicConfig): Rule {
  const { features } = config;
  const names = featureNames(features);
  const total = features.reduce((s, f) => s + f.weight, 0);
  const tokens = features.map((f) => {
    const stop = new Set(
      f.type === "name_similarity" ? f.stop_words.map((w) => w.toLowerCase()) : [],
    );
    return (text: string) => wordTokens(text).filter((t) => !stop.has(t));
  });
  const props = (side: "left" | "right") => [
    ...new Set(features.flatMap((f) => f.type === "time_proximity" ? [] : [f[side]])),
  ];
  const fields = { left: props("left"), right: props("right") };
  const value = (f: Feature, side: "left" | "right", e: EntityView) =>
    f.type === "time_proximity" ? undefined : textOf(e.props[f[side]]);

  function score(i: number, l: EntityView, r: EntityView): number | undefined {
    const f = features[i];
    if (f.type === "time_proximity") {
      return Math.max(0, 1 - Math.abs(l.first_seen - r.first_seen) / (f.window_seconds * 1000));
    }
    const a = value(f, "left", l), b = value(f, "right", r);
    if (a === undefined || b === undefined) return undefined;
    return f.type === "same_value" ? Number(a === b) : dice(tokens[i](a), tokens[i](b));
  }

  const plan = blockingPlan(config);
  // The engine asks for keys, then probes, of the same entity: block it once.
  let last: { memo: string; blocking: Blocking } | undefined;
  function blocking(side: Side, e: EntityView): Blocking {
    const values = features.map((f) => value(f, side, e));
    const bucket = Math.floor(e.first_seen / plan.bucketMs);
    const memo = `${side}\u0000${bucket}\u0000${JSON.stringify(values)}`;
    if (last?.memo === memo) return last.blocking;
    // Keys are prefixed with the feature's index so a token only meets the same feature's tokens.
    const keys: string[] = [], probes: string[] = [];
    features.forEach((f, i) => {
      const v = values[i], blocker = plan.blockers[i];
      if (v === undefined) return;
      if (f.type === "same_value") keys.push(`${i}=${v}`), probes.push(`${i}=${v}`);
      else if (blocker) {
        const b = blocker(tokens[i](v), bucket);
        keys.push(...b.keys.map((k) => `${i}:${k}`));
        probes.push(...b.probes.map((k) => `${i}:${k}`));
      }
    });
    last = { memo, blocking: { keys, probes } };
    return last.blocking;
  }

  return {
    id: config.id,
    kind: "heuristic",
    description: config.description,
    left: config.left.entity,
    right: config.right.entity,
    confidence: config.confidence,
    fields,
    // Time features score, and the blocking buckets, the first sighting.
    readsFirstSeen: features.some((f) => f.type === "time_proximity"),
    keys: (side, e) => blocking(side, e).keys,
    probes: (side, e) => blocking(side, e).probes,
    evaluate(l, r): Evaluation | null {
      const detail: Record<string, number> = {};
      let sum = 0;
      for (let i = 0; i < features.length; i++) {
        const s = score(i, l, r);
        if (s === undefined) return null;
        detail[names[i]] = Math.round(s * 1e6) / 1e6;
        sum += features[i].weight * s;
      }
      const weighted = Math.round((sum / total) * 1e6) / 1e6;
      detail.weighted = weighted;
      const fired = weighted >= config.threshold;
      const parts = names.map((n) => `${n} ${detail[n].toFixed(2)}`).join(", ");
      const side = (s: "left" | "right", e: EntityView) =>
        Object.fromEntries(fields[s].map((p) => [p, e.props[p]]));
      return {
        fired,
        score: config.confidence * weighted,
        matched: { left: side("left", l), right: side("right", r) },
        detail,
        reason: `weighted score ${weighted.toFixed(2)} ${fired ? "reaches" : "is below"} the ` +
          `threshold ${config.threshold} (${parts})`,
      };
    },
  };
}

export const heuristic: RuleKind<typeof schema> = { kind: "heuristic", schema, create };

/** Rounding of the weighted score (6 decimals) can lift it by 5·10⁻⁷: the bounds allow 10⁻⁶. */
const TOLERANCE = 1e-6;
/** How each name feature is blocked (undefined: not keyed), and the time bucket width. */
function blockingPlan(
  config: HeuristicConfig,
): { blockers: (DiceBlocker | undefined)[]; bucketMs: number } {
  const { features } = config;
  const total = features.reduce((s, f) => s + f.weight, 0);
  const weight = (type: Feature["type"]) =>
    features.filter((f) => f.type === type).reduce((s, f) => s + f.weight, 0);
  const time = weight("time_proximity"), names = weight("name_similarity");
  const target = (config.threshold - TOLERANCE) * total;
  const windows = features.flatMap((f) => f.type === "time_proximity" ? [f.window_seconds] : []);
  const bucketMs = windows.length ? Math.max(...windows) * 1000 : Infinity;
  // δᵢ per name feature: its Dice bound when no same_value feature agrees.
  const delta = features.map((f) =>
    f.type === "name_similarity" ? (target - time - (names - f.weight)) / f.weight : -Infinity
  );
  const best = delta.indexOf(Math.max(...delta));
  if (!(delta[best] > 0)) {
    // Other features can reach the threshold without any one name: every name keys every word.
    const plain = diceBlocking({ minDice: 0 });
    return {
      blockers: features.map((f) => f.type === "name_similarity" ? plain : undefined),
      bucketMs,
    };
  }
  const blocker = diceBlocking({
    minDice: delta[best],
    timeWords: timeWords(
      features[best].weight,
      names - features[best].weight,
      target,
      windows.length > 0,
    ),
  });
  return { blockers: features.map((_, i) => i === best ? blocker : undefined), bucketMs };
}

/**
 * The largest L such that two different names of at most L words each (Dice ≤ 1 − 1/(2L)) cannot
 * reach the threshold without time proximity: w·(1 − 1/(2L)) + rest < target. Undefined when no
 * L ≥ 1 is (or the rule has no time feature): then names are not bucketed by time.
 */
function timeWords(w: number, rest: number, target: number, time: boolean): number | undefined {
  if (!time) return undefined;
  if (w + rest < target) return Infinity;
  const q = (target - rest) / w; // 1 − 1/(2L) < q
  if (!(q > 0.5)) return undefined;
  const holds = (l: number) => l >= 1 && w * (1 - 1 / (2 * l)) + rest < target;
  // L < 1/(2(1 − q)); checked against the inequality itself, float noise aside.
  let l = Math.min(Math.ceil(1 / (2 * (1 - q))), 1e9);
  for (let i = 0; i < 4 && !holds(l); i++) l--;
  return holds(l) ? l : undefined;
}
