/**
 * `heuristic`: weighted circumstantial evidence (similar names, close in time, a shared value) that
 * two entities are related, e.g. a dde task `run_user_service_tests` and a bdv scenario "User service
 * returns the profile" seen a minute apart. Weak by design: confidence is capped at 0.5.
 *
 * Candidates are found only through the name_similarity and same_value features: keys are, per such
 * feature, the name's word tokens (stop words removed) or the whole value. Time proximity cannot be
 * indexed by a hash join, so the schema rejects a rule whose time features alone could reach the
 * threshold: it would fire on pairs the engine never evaluates.
 * @module
 */
import { z } from "zod";
import type { EntityView, Evaluation, Rule, RuleKind } from "./_types.ts";
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
  if (unindexed > 0 && unindexed / total >= config.threshold) {
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

  return {
    id: config.id,
    kind: "heuristic",
    description: config.description,
    left: config.left.entity,
    right: config.right.entity,
    confidence: config.confidence,
    fields,
    // Keys are prefixed with the feature's index so a token only meets the same feature's tokens.
    keys(side, e) {
      const keys = features.flatMap((f, i) => {
        const v = value(f, side, e);
        if (v === undefined) return [];
        return f.type === "same_value" ? [`${i}=${v}`] : tokens[i](v).map((t) => `${i}:${t}`);
      });
      return [...new Set(keys)];
    },
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
