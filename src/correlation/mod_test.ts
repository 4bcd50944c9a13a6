import assert from "node:assert/strict";
import { loadSpec } from "../compiler/mod.ts";
import type { EntityView, Rule } from "./_types.ts";
import { createRule } from "./kinds.ts";
import { entity } from "./_testing.ts";
import { createEngine, createIndex, type Engine, pairId, type Policy } from "./mod.ts";

const PIPELINE = new URL("../../pipeline.yaml", import.meta.url).pathname;
const { spec } = await loadSpec(PIPELINE, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");

/** A rule of the shipped policy, compiled afresh (so a test may wrap it). */
function rule(id: string): Rule {
  const config = spec!.ruleSpecs.find((r) => r.id === id);
  if (!config) throw new Error(`no rule "${id}" in the shipped policy`);
  return createRule(config);
}

function policy(rules: Rule[], over: Partial<Policy> = {}): Policy {
  return { rules, combine: "noisy_or", min_confidence: 0.3, policy: "test-policy", ...over };
}

const T = 1_700_000_000_000;

const view = (label: string, key: string, props: Record<string, unknown>, time = T) =>
  entity(label, props, { key, seen: time });

/** An iteration's index plus its entities, updated the way the graph model does. */
function iteration(engine: Engine) {
  const index = createIndex();
  const views = new Map<string, EntityView>();
  return {
    index,
    update(v: EntityView) {
      views.set(v.id, v);
      return engine.update(index, v, (id) => views.get(id));
    },
  };
}

const artifact = view("Artifact", "src/api/user_service.py", {
  artifact_path: "src/api/user_service.py",
});
const module = view("Module", "api.user_service", {
  module_name: "api.user_service",
  module_path: "src/api/user_service.py",
});
const pathRules = () => [rule("artifact-module-path"), rule("artifact-module-name")];

Deno.test("engine combines two rules on one pair with noisy_or: 1 - (1-a)(1-b)", () => {
  const engine = createEngine(policy(pathRules()));
  const it = iteration(engine);
  it.update(artifact);
  const touched = it.update(module);
  const pair = pairId(artifact.id, module.id);
  assert.deepEqual([...touched], [pair]);
  const link = engine.link(it.index, pair);
  assert.ok(link);
  assert.equal(link.confidence, 0.97); // 1 - (1 - 0.9) * (1 - 0.7)
  assert.deepEqual([link.a, link.b], [artifact.id, module.id].sort());
  assert.deepEqual(link.rules, [
    {
      rule: "artifact-module-name",
      kind: "file_path",
      score: 0.7,
      matched: { left: "src/api/user_service.py", right: "api.user_service" },
      detail: { similarity: 1, stem: 1, dirs: 1 },
    },
    {
      rule: "artifact-module-path",
      kind: "file_path",
      score: 0.9,
      matched: { left: "src/api/user_service.py", right: "src/api/user_service.py" },
    },
  ]);
});

Deno.test("engine combines two rules on one pair with max when configured", () => {
  const engine = createEngine(policy(pathRules(), { combine: "max" }));
  const it = iteration(engine);
  it.update(artifact);
  it.update(module);
  const link = engine.link(it.index, pairId(artifact.id, module.id));
  assert.equal(link?.confidence, 0.9);
  assert.equal(link?.rules.length, 2);
});

Deno.test("engine finds the link whichever side arrives first", () => {
  const engine = createEngine(policy(pathRules()));
  const leftFirst = iteration(engine);
  assert.deepEqual([...leftFirst.update(artifact)], []);
  leftFirst.update(module);
  const rightFirst = iteration(engine);
  assert.deepEqual([...rightFirst.update(module)], []);
  rightFirst.update(artifact);
  const pair = pairId(artifact.id, module.id);
  assert.deepEqual(engine.link(rightFirst.index, pair), engine.link(leftFirst.index, pair));
  assert.equal(engine.link(rightFirst.index, pair)?.confidence, 0.97);
});

Deno.test("engine drops a rule's evidence when an entity changes so the rule no longer fires", () => {
  const engine = createEngine(policy(pathRules()));
  const it = iteration(engine);
  it.update(artifact);
  it.update(module);
  const pair = pairId(artifact.id, module.id);
  const moved = { ...module, props: { ...module.props, module_path: "src/legacy/user.py" } };
  assert.deepEqual([...it.update(moved)], [pair]);
  const link = engine.link(it.index, pair);
  assert.equal(link?.confidence, 0.7);
  assert.deepEqual(link?.rules.map((r) => r.rule), ["artifact-module-name"]);
  const renamed = { ...moved, props: { ...moved.props, module_name: "legacy.user" } };
  assert.deepEqual([...it.update(renamed)], [pair]);
  assert.equal(engine.link(it.index, pair), null);
});

Deno.test("engine does not write a link under min_confidence, but explain() still shows it", () => {
  const rules = [rule("task-scenario-heuristic")];
  const engine = createEngine(policy(rules, { min_confidence: 0.5 }));
  const it = iteration(engine);
  const task = view("Task", "run_user_service_tests", { node_id: "run_user_service_tests" });
  const scenario = view("Scenario", "s-1", { scenario_name: "User service returns the profile" });
  it.update(task);
  const touched = it.update(scenario);
  const pair = pairId(task.id, scenario.id);
  assert.deepEqual([...touched], [pair]);
  assert.equal(engine.link(it.index, pair), null);

  const explanation = engine.explain(task, scenario);
  assert.equal(explanation.policy, "test-policy");
  assert.equal(explanation.min_confidence, 0.5);
  // name: dice({user, service}, {user, service, profile}) = 0.8; time: 1; 0.6*0.8 + 0.4*1 = 0.88.
  assert.equal(explanation.confidence, 0.44);
  assert.equal(explanation.linked, false);
  const [e] = explanation.evaluations;
  assert.equal(e.applicable, true);
  assert.equal(e.evaluation?.fired, true);
  assert.deepEqual(e.evaluation?.detail, {
    name_similarity: 0.8,
    time_proximity: 1,
    weighted: 0.88,
  });
  // The same pair links under the shipped threshold 0.3.
  const shipped = createEngine(policy(rules));
  const again = iteration(shipped);
  again.update(task);
  again.update(scenario);
  assert.equal(shipped.link(again.index, pair)?.confidence, 0.44);
});

Deno.test("engine explain() scores a near miss and marks rules that do not apply", () => {
  const rules = [...pathRules(), rule("scenario-contract-id")];
  const engine = createEngine(policy(rules));
  const near = view("Module", "api.user_services", { module_name: "api.user_services" });
  const it = iteration(engine);
  it.update(artifact);
  // A candidate (shared token "user"), evaluated, but no evidence and so no link.
  assert.deepEqual([...it.update(near)], []);
  assert.equal(engine.link(it.index, pairId(artifact.id, near.id)), null);

  const explanation = engine.explain(near, artifact); // either argument order
  assert.equal(explanation.linked, false);
  assert.equal(explanation.confidence, 0);
  const byRule = new Map(explanation.evaluations.map((e) => [e.rule.id, e]));
  const fuzzy = byRule.get("artifact-module-name")!;
  assert.equal(fuzzy.applicable, true);
  assert.equal(fuzzy.evaluation?.fired, false);
  assert.equal(fuzzy.evaluation?.score, 0.35); // 0.7 * similarity 0.5
  assert.deepEqual(fuzzy.evaluation?.matched, {
    left: "src/api/user_service.py",
    right: "api.user_services",
  });
  assert.match(fuzzy.evaluation!.reason, /similarity 0\.50 is below the threshold 0\.85/);
  // The exact rule's field is missing on the module: not applicable.
  assert.deepEqual(
    { applicable: false, evaluation: null },
    {
      applicable: byRule.get("artifact-module-path")!.applicable,
      evaluation: byRule.get("artifact-module-path")!.evaluation,
    },
  );
  // A rule about other labels: not applicable.
  assert.equal(byRule.get("scenario-contract-id")!.applicable, false);
  assert.equal(byRule.get("scenario-contract-id")!.evaluation, null);
});

Deno.test("engine explain() of a linked pair combines the fired rules like link()", () => {
  const engine = createEngine(policy(pathRules()));
  const explanation = engine.explain(artifact, module);
  assert.equal(explanation.combine, "noisy_or");
  assert.equal(explanation.confidence, 0.97);
  assert.equal(explanation.linked, true);
  assert.deepEqual(explanation.evaluations.map((e) => e.evaluation?.fired), [true, true]);
});

Deno.test("engine cost stays flat: an update evaluates only the entity's candidates", () => {
  let calls = 0;
  const counted = pathRules().map((r): Rule => ({
    ...r,
    evaluate: (l, r2) => (calls++, r.evaluate(l, r2)),
  }));
  const engine = createEngine(policy(counted));
  const it = iteration(engine);
  const related = [
    view("Module", "api.user_service", { module_name: "api.user_service" }),
    view("Module", "api.user_services", { module_name: "api.user_services" }),
    view("Module", "billing.user_service", { module_name: "billing.user_service" }),
  ];
  for (const m of related) it.update(m);
  it.update(artifact);
  const baseline = calls;
  // The fuzzy rule, once per module sharing both words (`user_services` shares one: at the
  // threshold 0.85 it cannot fire, and is no candidate).
  assert.equal(baseline, 2);

  const big = iteration(engine);
  for (const m of related) big.update(m);
  for (let i = 0; i < 5000; i++) {
    const name = `gen${i}.mod${i}x`;
    big.update(view("Module", name, { module_name: name, module_path: `gen${i}/mod${i}x.py` }));
  }
  calls = 0;
  big.update(artifact);
  assert.equal(calls, baseline);
  // And an update of one of the 5,000 evaluates nothing: it has no candidate.
  calls = 0;
  big.update(view("Module", "gen7.mod7x", { module_name: "gen7.mod7x", instability: 0.5 }));
  assert.equal(calls, 0);
  // Links are the same with or without the unrelated entities.
  const pair = pairId(artifact.id, related[0].id);
  assert.deepEqual(engine.link(big.index, pair), engine.link(it.index, pair));
  assert.equal(engine.link(big.index, pair)?.confidence, 0.7);
});

Deno.test("engine re-evaluates an entity under a rule only when what the rule reads changed", () => {
  const calls = new Map<string, number>();
  const counted = [...pathRules(), rule("task-scenario-heuristic")].map((r): Rule => ({
    ...r,
    evaluate: (l, r2) => (calls.set(r.id, (calls.get(r.id) ?? 0) + 1), r.evaluate(l, r2)),
  }));
  const engine = createEngine(policy(counted));
  const it = iteration(engine);
  it.update(artifact);
  it.update(module);
  const pair = pairId(artifact.id, module.id);
  const linked = engine.link(it.index, pair);
  assert.equal(linked?.confidence, 0.97);

  // A property no rule reads (the status): nothing is evaluated, no pair is touched.
  calls.clear();
  const instable = { ...module, props: { ...module.props, instability: 0.5 } };
  assert.deepEqual([...it.update(instable)], []);
  assert.deepEqual([...calls], []);
  assert.deepEqual(engine.link(it.index, pair), linked);

  // The module's path: only the exact path rule reads it (and drops its evidence: the artifact is
  // no candidate under the new path); the name rule is not evaluated and keeps its evidence.
  const moved = { ...instable, props: { ...instable.props, module_path: "src/legacy/user.py" } };
  assert.deepEqual([...it.update(moved)], [pair]);
  assert.deepEqual([...calls], []);
  assert.deepEqual(engine.link(it.index, pair)?.rules.map((r) => r.rule), ["artifact-module-name"]);

  // A first sighting that moves: no path rule reads it, but the link's valid time starts there,
  // so the pair is touched (and its evidence kept).
  calls.clear();
  assert.deepEqual([...it.update({ ...moved, first_seen: T - 1000 })], [pair]);
  assert.deepEqual([...calls], []);
  assert.equal(engine.link(it.index, pair)?.confidence, 0.7);

  // The heuristic reads the first sighting: a task seen at another time is evaluated again.
  const task = view("Task", "run_user_service_tests", { node_id: "run_user_service_tests" });
  const scenario = view("Scenario", "s1", { scenario_name: "User service tests" });
  it.update(task);
  it.update(scenario);
  calls.clear();
  it.update({ ...task, props: { ...task.props, status: "failed" } });
  assert.deepEqual([...calls], []);
  it.update({ ...task, first_seen: T + 60_000 });
  assert.deepEqual([...calls.keys()], ["task-scenario-heuristic"]);
});
