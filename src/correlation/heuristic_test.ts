import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
import { heuristic } from "./heuristic.ts";

const task = (node_id: string, at = 0) => entity("Task", { node_id }, { seen: at });
const scenario = (scenario_name: string, at = 0) =>
  entity("Scenario", { scenario_name }, { seen: at });

const config = {
  id: "task-scenario",
  kind: "heuristic",
  description: "A task and a scenario with similar names, run close together, are likely related.",
  left: { entity: "Task" },
  right: { entity: "Scenario" },
  features: [
    { type: "name_similarity", left: "node_id", right: "scenario_name", weight: 0.6 },
    { type: "time_proximity", window_seconds: 600, weight: 0.4 },
  ],
};
const rule = heuristic.create(heuristic.schema.parse(config));
const intersects = (a: string[], b: string[]) => a.some((k) => b.includes(k));

Deno.test("heuristic fires on a similar name seen close in time, scaled by its confidence", () => {
  const result = rule.evaluate(
    task("run_user_service_tests"),
    scenario("User service returns the profile", 60_000),
  );
  // name: {user, service} vs {user, service, profile} = 0.8; time: 1 - 60/600 = 0.9.
  assert.deepEqual(result?.detail, { name_similarity: 0.8, time_proximity: 0.9, weighted: 0.84 });
  assert.equal(result?.fired, true);
  assert.equal(result?.score, 0.42);
  assert.deepEqual(result?.matched, {
    left: { node_id: "run_user_service_tests" },
    right: { scenario_name: "User service returns the profile" },
  });
  assert.equal(
    result?.reason,
    "weighted score 0.84 reaches the threshold 0.6 (name_similarity 0.80, time_proximity 0.90)",
  );
});

Deno.test("heuristic does not fire on an unrelated name, even at the same time", () => {
  const result = rule.evaluate(
    task("run_billing_tests"),
    scenario("User service returns the profile"),
  );
  assert.equal(result?.fired, false);
  assert.equal(result?.detail?.weighted, 0.4);
  assert.equal(result?.score, 0.2);
});

Deno.test("heuristic time proximity falls to 0 outside the window", () => {
  const result = rule.evaluate(task("user_service"), scenario("user service", 3_600_000));
  assert.equal(result?.detail?.time_proximity, 0);
  assert.equal(result?.detail?.weighted, 0.6);
  assert.equal(result?.fired, true);
});

Deno.test("heuristic keys of a matching pair intersect, stop words excluded", () => {
  const left = rule.keys("left", task("run_user_service_tests"));
  assert.deepEqual(left, ["0:user", "0:service"]);
  assert.ok(intersects(left, rule.keys("right", scenario("User service returns the profile"))));
});

Deno.test("heuristic has no keys and does not apply when a compared property is missing", () => {
  assert.deepEqual(rule.keys("left", entity("Task", {})), []);
  assert.equal(rule.evaluate(entity("Task", {}), scenario("user service")), null);
  assert.equal(rule.evaluate(task("user_service"), entity("Scenario", {})), null);
});

Deno.test("heuristic same_value scores equal values 1 and keys on the whole value", () => {
  const both = heuristic.create(heuristic.schema.parse({
    ...config,
    features: [
      ...config.features,
      { type: "same_value", left: "workflow_id", right: "test_run_id" },
      { type: "time_proximity", window_seconds: 60 },
    ],
  }));
  const left = entity("Task", { node_id: "user_service", workflow_id: "wf-1" });
  const right = entity("Scenario", { scenario_name: "user service", test_run_id: "wf-1" }, {
    seen: 30_000,
  });
  const result = both.evaluate(left, right);
  assert.deepEqual(result?.detail, {
    name_similarity: 1,
    "time_proximity:600": 0.95,
    same_value: 1,
    "time_proximity:60": 0.5,
    weighted: 0.826667, // (0.6 + 0.4 * 0.95 + 1 + 0.5) / 3
  });
  assert.ok(both.keys("left", left).includes("2=wf-1"));
  assert.ok(both.keys("right", right).includes("2=wf-1"));
  assert.deepEqual(both.fields, {
    left: ["node_id", "workflow_id"],
    right: ["scenario_name", "test_run_id"],
  });
});

Deno.test("heuristic schema defaults confidence 0.5, threshold 0.6 and weight 1", () => {
  const parsed = heuristic.schema.parse({
    ...config,
    features: [{ type: "same_value", left: "a", right: "b" }],
  });
  assert.equal(parsed.confidence, 0.5);
  assert.equal(parsed.threshold, 0.6);
  assert.equal(parsed.features[0].weight, 1);
});

Deno.test("heuristic schema caps confidence at 0.5", () => {
  const result = heuristic.schema.safeParse({ ...config, confidence: 0.7 });
  assert.deepEqual(result.error?.issues.map((i) => i.message), [
    "heuristic confidence must be at most 0.5; use an explicit_id, file_path or tag rule for stronger evidence",
  ]);
});

Deno.test("heuristic schema rejects a rule that cannot find candidates", () => {
  const timeOnly = { ...config, features: [{ type: "time_proximity", window_seconds: 60 }] };
  assert.deepEqual(heuristic.schema.safeParse(timeOnly).error?.issues.map((i) => i.message), [
    "a heuristic rule needs a name_similarity or same_value feature to find candidates",
  ]);
  assert.deepEqual(
    heuristic.schema.safeParse({ ...config, features: [] }).error?.issues.map((i) => i.path),
    [["features"]],
  );
});

Deno.test("heuristic schema rejects time features that reach the threshold alone", () => {
  const result = heuristic.schema.safeParse({ ...config, threshold: 0.4 });
  assert.deepEqual(result.error?.issues.map((i) => i.path), [["threshold"]]);
  assert.match(
    result.error?.issues[0].message ?? "",
    /time_proximity alone reaches the threshold 0.4/,
  );
});
