/**
 * The correlation policy in force, as one immutable value: the policy (its hash, rules, how they
 * combine), the engine compiled from it and the graph model that correlates under it. Nothing in
 * it is changed in place: a policy reload (`run --watch`), a refused write or a moved partition
 * replaces the whole value, with a fresh model that rebuilds its iterations from the store on
 * their next event, and a higher `generation`.
 * @module
 */
import type { GraphStore } from "../core/component.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { createEngine, type Engine, type Rule } from "../correlation/mod.ts";
import { createGraphModel, type GraphModel } from "../graph/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";

export interface Correlation {
  /** Hash of the policy, stored on every link it makes. */
  readonly policy: string;
  /** The spec the policy comes from (its rules, combine, min_confidence). */
  readonly spec: CompiledSpec;
  readonly engine: Engine;
  readonly model: GraphModel;
  /** Bumped by every replacement: a batch correlated under an older one is applied again. */
  readonly generation: number;
  /** The target run: its `runtime` may override how many iterations the model keeps. */
  readonly target?: string;
}

/** The policy of `spec`, with a model that reads iterations from `store`. */
export function correlation(
  spec: CompiledSpec,
  store: GraphStore,
  telemetry: Telemetry,
  previous?: Correlation,
  target = previous?.target,
): Correlation {
  const engine = createEngine({
    rules: spec.rules.map((rule) => countingNearMisses(rule, telemetry)),
    combine: spec.combine,
    min_confidence: spec.min_confidence,
    policy: spec.policy,
  });
  return {
    policy: spec.policy,
    spec,
    engine,
    model: model(engine, spec, store, previous, target),
    generation: (previous?.generation ?? -1) + 1,
    target,
  };
}

/** The same policy with a fresh model: what it held is rebuilt from the store when used. */
export function rebuilt(c: Correlation, store: GraphStore): Correlation {
  return {
    ...c,
    model: model(c.engine, c.spec, store, c, c.target),
    generation: c.generation + 1,
  };
}

/** How many iterations the model keeps: the target's `runtime` says, else the spec's. */
export function iterationsInMemory(spec: CompiledSpec, target?: string): number {
  const t = target !== undefined && Object.hasOwn(spec.spec.targets, target)
    ? spec.spec.targets[target]
    : undefined;
  return t?.runtime?.max_iterations_in_memory ?? spec.spec.runtime.max_iterations_in_memory;
}

function model(
  engine: Engine,
  spec: CompiledSpec,
  store: GraphStore,
  previous?: Correlation,
  target?: string,
) {
  // System time goes on after the model this one replaces: version ids rely on it.
  return createGraphModel(
    engine,
    spec.policy,
    store,
    iterationsInMemory(spec, target),
    previous?.model.clock(),
  );
}

/** A rule that also counts its near misses: candidates it evaluated without firing. */
export function countingNearMisses(rule: Rule, t: Telemetry): Rule {
  const labels = { rule: rule.id };
  return {
    ...rule,
    evaluate(left, right) {
      const evaluation = rule.evaluate(left, right);
      if (evaluation && !evaluation.fired) t.add("correlation_near_misses_total", 1, labels);
      return evaluation;
    },
  };
}
