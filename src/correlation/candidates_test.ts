/**
 * The engine's candidate generation with the shipped rules and variants of them (issue #11):
 * exactly the links that evaluating every pair gives, whatever the arrival order, at a cost that
 * does not grow with the number of entities sharing common words.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadSpec } from "../compiler/mod.ts";
import type { EntityView, Rule } from "./_types.ts";
import { createRule, type RuleConfig, ruleSchema } from "./kinds.ts";
import { createEngine, createIndex, type Engine, pairId, type Policy } from "./mod.ts";

const PIPELINE = new URL("../../pipeline.yaml", import.meta.url).pathname;
const { spec } = await loadSpec(PIPELINE, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");
const shipped = (id: string) => spec!.ruleSpecs.find((r) => r.id === id)! as RuleConfig;
/** A shipped rule with some settings changed; undefined when the schema rejects the result. */
function variant(id: string, change: Record<string, unknown>): Rule | undefined {
  const parsed = ruleSchema.safeParse({ ...shipped(id), ...change });
  return parsed.success ? createRule(parsed.data) : undefined;
}

/** Every pair a rule fires on links (min_confidence near 0): nothing hides a lost candidate. */
function policy(rules: Rule[]): Policy {
  return { rules, combine: "noisy_or", min_confidence: 0.001, policy: "test-policy" };
}

const T = 1_700_000_000_000;
const MINUTE = 60_000;

function view(label: string, key: string, props: Record<string, unknown>, at = T): EntityView {
  return {
    id: `${label}:${key}`,
    label,
    iteration_id: "it-1",
    key: [key],
    props,
    first_seen: at,
    last_seen: at,
  };
}

function iteration(engine: Engine) {
  const index = createIndex();
  const views = new Map<string, EntityView>();
  return {
    index,
    views,
    update(v: EntityView) {
      views.set(v.id, v);
      return engine.update(index, v, (id) => views.get(id));
    },
  };
}

/** Every pair's link, by evaluating every pair of entities with every rule. */
function bruteForce(engine: Engine, views: EntityView[]): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < views.length; i++) {
    for (let j = i + 1; j < views.length; j++) {
      const e = engine.explain(views[i], views[j]);
      if (e.linked) out.set(pairId(views[i].id, views[j].id), e.confidence);
    }
  }
  return out;
}

function linksOf(engine: Engine, it: ReturnType<typeof iteration>): Map<string, number> {
  const out = new Map<string, number>();
  for (const pair of it.index.evidence.keys()) {
    const link = engine.link(it.index, pair);
    if (link) out.set(pair, link.confidence);
  }
  return out;
}

const WORDS = ["user", "service", "api", "order", "store", "cart"];
const stem = fc.array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 4 });
const entity = fc.record({
  kind: fc.constantFrom("artifact", "module", "feature", "task", "scenario"),
  stem,
  dir: fc.constantFrom("api", "billing"),
  decorated: fc.boolean(),
  at: fc.integer({ min: 0, max: 1800 }).map((s) => T + s * 1000),
  moved: fc.option(fc.integer({ min: 0, max: 1800 }).map((s) => T + s * 1000)),
});
type Generated = typeof entity extends fc.Arbitrary<infer T> ? T : never;

function toView(e: Generated, n: number, at = e.at): EntityView {
  const s = e.stem.join("_"), words = e.stem.join(" ");
  switch (e.kind) {
    case "artifact":
      return view("Artifact", `${n}`, { artifact_path: `src/${e.dir}/${s}.py` }, at);
    case "module":
      return view("Module", `${n}`, { module_name: `${e.dir}.${s}` }, at);
    case "feature":
      return view("Feature", `${n}`, { feature_file: `features/${s}.feature` }, at);
    case "task":
      return view("Task", `${n}`, { node_id: e.decorated ? `build_${s}` : s }, at);
    default:
      return view(
        "Scenario",
        `${n}`,
        { scenario_name: e.decorated ? `${words} works` : words },
        at,
      );
  }
}

Deno.test("engine links exactly what evaluating every pair links, whatever the arrival order", () => {
  const heuristic = shipped("task-scenario-heuristic") as RuleConfig & { features: unknown[] };
  const [name, time] = heuristic.features as Record<string, unknown>[];
  let linked = 0;
  fc.assert(
    fc.property(
      fc.array(entity, { minLength: 2, maxLength: 40 }),
      fc.constantFrom(0.85, 0.6666668, 0.5, 0.3),
      fc.constantFrom(0.6, 0.45),
      fc.constantFrom(0.6, 1.2),
      fc.func(fc.integer()),
      (entities, threshold, heuristicThreshold, nameWeight, shuffle) => {
        const rules = [
          variant("artifact-module-name", { threshold }),
          variant("feature-artifact-stem", { threshold }),
          variant("task-scenario-heuristic", {
            threshold: heuristicThreshold,
            features: [{ ...name, weight: nameWeight }, time],
          }),
        ].filter((r) => r !== undefined);
        const engine = createEngine(policy(rules));
        const first = entities.map((e, n) => toView(e, n));
        const last = entities.map((e, n) => toView(e, n, e.moved ?? e.at));
        const order = first.map((_, i) => i).sort((a, b) => shuffle(a) - shuffle(b) || a - b);
        const it = iteration(engine);
        for (const i of order) it.update(first[i]);
        for (const i of order) if (entities[i].moved !== null) it.update(last[i]);
        const reversed = iteration(engine);
        for (const v of [...last].reverse()) reversed.update(v);
        const expected = bruteForce(engine, last);
        linked += expected.size;
        assert.deepEqual(linksOf(engine, it), expected);
        assert.deepEqual(linksOf(engine, reversed), expected);
      },
    ),
    { numRuns: 400, seed: 41 },
  );
  assert.ok(linked > 400, `${linked} links`); // the generator makes pairs that link
});

Deno.test("engine looks a task up again when its first sighting moves into a scenario's window", () => {
  const engine = createEngine(policy([createRule(shipped("task-scenario-heuristic"))]));
  const it = iteration(engine);
  const scenario = view("Scenario", "s", { scenario_name: "User service works" });
  it.update(scenario);
  it.update(view("Task", "t", { node_id: "build_user_service" }, T + 180 * MINUTE));
  const pair = pairId("Task:t", scenario.id);
  assert.equal(engine.link(it.index, pair), null);
  assert.deepEqual(
    [...it.update(view("Task", "t", { node_id: "build_user_service" }, T + MINUTE))],
    [pair],
  );
  assert.ok(engine.link(it.index, pair));
  it.update(view("Task", "t", { node_id: "build_user_service" }, T + 180 * MINUTE));
  assert.equal(engine.link(it.index, pair), null);
});

Deno.test("engine cost stays flat when thousands of names share common words", () => {
  let calls = 0;
  const counted = ["artifact-module-name", "task-scenario-heuristic"].map((id): Rule => {
    const r = createRule(shipped(id));
    return { ...r, evaluate: (a, b) => (calls++, r.evaluate(a, b)) };
  });
  const engine = createEngine(policy(counted));
  const it = iteration(engine);
  const nouns = ["user", "order", "cart", "price", "stock", "audit", "token", "email"];
  const roles = ["service", "api", "store", "client", "handler"];
  // 4,000 modules and scenarios over 4 hours: every one shares a word with user_service.
  for (let i = 0; i < 4000; i++) {
    const words = [nouns[i % 8], `w${i}`, roles[i % 5]];
    const at = T + i * 3_600;
    it.update(view("Module", `m${i}`, { module_name: `api.${words.join("_")}` }, at));
    it.update(view("Scenario", `s${i}`, { scenario_name: `${words.join(" ")} works` }, at));
  }
  calls = 0;
  it.update(view("Artifact", "a", { artifact_path: "src/api/user_service.py" }, T + 2 * 3_600_000));
  it.update(view("Task", "t", { node_id: "build_user_service" }, T + 2 * 3_600_000));
  // Every user_* and *_service of the iteration was a candidate before (issue #11): 2,400.
  assert.ok(calls <= 50, `${calls} evaluations`);
});
