/**
 * The engine's `explain` on a pair of endpoints of an evaluation, as plain (serialisable) data:
 * every rule's verdict with its score and reason, and the combination.
 * @module
 */
import { createEngine, type Engine, type EntityView } from "../correlation/mod.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import { type Endpoint, endpointId, refText } from "./evaluate.ts";

export interface Verdict {
  rule: string;
  kind: string;
  verdict: "fired" | "near miss" | "not applicable";
  score?: number;
  reason?: string;
  matched?: { left: unknown; right: unknown };
  detail?: Record<string, number>;
}

export interface PairExplanation {
  /** Endpoints absent from the graph, each with a hint (the closest key of that label). */
  missing: { ref: string; hint?: string }[];
  verdicts: Verdict[];
  /** Combination of the fired rules (0 when none fired), and whether that makes a link. */
  confidence: number;
  linked: boolean;
  min_confidence: number;
  /** The endpoints are in two iterations: links never cross iterations. */
  crossIteration?: boolean;
}

export function engineOf(spec: CompiledSpec): Engine {
  return createEngine({
    rules: spec.rules,
    combine: spec.combine,
    min_confidence: spec.min_confidence,
    policy: spec.policy,
  });
}

export function explainPair(
  engine: Engine,
  spec: CompiledSpec,
  entities: Map<string, EntityView>,
  a: Endpoint,
  b: Endpoint,
): PairExplanation {
  if (a.iteration_id !== b.iteration_id) {
    // Correlation state is per iteration: no rule ever compares entities of two iterations.
    return {
      missing: [],
      verdicts: [],
      confidence: 0,
      linked: false,
      min_confidence: spec.min_confidence,
      crossIteration: true,
    };
  }
  const views = [a, b].map((e) => entities.get(endpointId(e)));
  const missing = [a, b].flatMap((e, i) => views[i] ? [] : [{ ref: refText(e), hint: hint(e) }]);
  if (!views[0] || !views[1]) {
    return {
      missing,
      verdicts: [],
      confidence: 0,
      linked: false,
      min_confidence: spec.min_confidence,
    };
  }
  const x = engine.explain(views[0], views[1]);
  return {
    missing,
    confidence: x.confidence,
    linked: x.linked,
    min_confidence: x.min_confidence,
    verdicts: x.evaluations.map((e) => ({
      rule: e.rule.id,
      kind: e.rule.kind,
      verdict: !e.applicable ? "not applicable" : e.evaluation!.fired ? "fired" : "near miss",
      ...(e.evaluation
        ? {
          score: e.evaluation.score,
          reason: e.evaluation.reason,
          matched: e.evaluation.matched,
          ...(e.evaluation.detail ? { detail: e.evaluation.detail } : {}),
        }
        : {
          reason: e.rule.left === a.label && e.rule.right === b.label ||
              e.rule.left === b.label && e.rule.right === a.label
            ? `a compared property is missing (${e.rule.left}: ${
              e.rule.fields.left.join(", ") || "-"
            }; ${e.rule.right}: ${e.rule.fields.right.join(", ") || "-"})`
            : `relates ${e.rule.left} and ${e.rule.right}`,
        }),
    })),
  };

  function hint(e: Endpoint): string | undefined {
    const keys: string[] = [];
    for (const v of entities.values()) {
      if (v.label === e.label && v.iteration_id === e.iteration_id) keys.push(v.key.join("|"));
    }
    const best = didYouMean(e.key.join("|"), keys);
    if (best) return `did you mean ${e.label}:${best}?`;
    if (keys.length === 0) {
      const elsewhere = [...entities.values()].find((v) =>
        v.label === e.label && v.key.join("|") === e.key.join("|")
      );
      return elsewhere
        ? `it is in iteration ${elsewhere.iteration_id}, not ${e.iteration_id}`
        : `no ${e.label} entity in iteration ${e.iteration_id}`;
    }
    const shown = keys.sort().slice(0, 5).map((k) => `${e.label}:${k}`).join(", ");
    return `${e.label} entities there: ${shown}${keys.length > 5 ? ", ..." : ""}`;
  }
}

/**
 * The rule that came closest to linking a pair: a fired rule first, else the applicable rule with
 * the highest score; undefined when no rule relates the two labels.
 */
export function closestRule(x: PairExplanation): Verdict | undefined {
  const rank = (v: Verdict) =>
    (v.verdict === "fired" ? 2 : v.verdict === "near miss" ? 1 : 0) * 10 + (v.score ?? 0);
  const applicable = x.verdicts.filter((v) => v.verdict !== "not applicable");
  return applicable.sort((p, q) => rank(q) - rank(p))[0];
}

/** One line saying why a pair is not linked. */
export function whyNotLinked(x: PairExplanation, labels: [string, string]): string {
  if (x.crossIteration) return "the endpoints are in two iterations: links never cross iterations";
  if (x.missing.length) {
    return x.missing.map((m) => `${m.ref} is not in the graph${m.hint ? ` (${m.hint})` : ""}`)
      .join("; ");
  }
  const fired = x.verdicts.filter((v) => v.verdict === "fired");
  if (fired.length) {
    return `${fired.map((v) => `${v.rule} ${v.score}`).join(", ")} fired, but the combined ` +
      `confidence ${x.confidence} is below min_confidence ${x.min_confidence}`;
  }
  const best = closestRule(x);
  if (!best) return `no rule relates ${labels[0]} and ${labels[1]}`;
  return `closest rule ${best.rule} (${best.kind}): near miss, score ${best.score}: ${best.reason}`;
}
