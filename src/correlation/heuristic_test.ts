import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
import fc from "fast-check";
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
  const left = rule.probes!("left", task("run_user_service_tests"));
  const right = scenario("User service returns the profile");
  assert.ok(intersects(left, rule.keys("right", right)));
  assert.ok(
    intersects(rule.probes!("right", right), rule.keys("left", task("run_user_service_tests"))),
  );
  assert.ok(!left.some((k) => /\b(run|tests)\b/.test(k)));
});

Deno.test("heuristic looks up names seen around the same time only, identical names at any time", () => {
  const hour = 3_600_000;
  const left = rule.probes!("left", task("build_user_service", 10 * hour));
  // The shipped weights: a name below Dice 1 needs time proximity to reach the threshold.
  assert.ok(
    intersects(left, rule.keys("right", scenario("User service works", 10 * hour + 500_000))),
  );
  assert.ok(!intersects(left, rule.keys("right", scenario("User service works", 12 * hour))));
  assert.equal(
    rule.evaluate(task("build_user_service"), scenario("User service works", 2 * hour))?.fired,
    false,
  );
  // Identical names fire at any distance (0.6): they meet at any distance.
  assert.ok(
    intersects(
      rule.probes!("left", task("user_service")),
      rule.keys("right", scenario("User service", 12 * hour)),
    ),
  );
});

Deno.test("heuristic looks up one shared word only among names short enough for it to fire", () => {
  const left = rule.probes!("left", task("build_user_service"));
  // Dice 2/7 with four words on the right: 0.6 * 2/7 + 0.4 < 0.6, whatever the time.
  assert.ok(!intersects(left, rule.keys("right", scenario("User gets the expected response"))));
  // Dice 2/6 with three: 0.6 * 1/3 + 0.4 = 0.6 at the same millisecond.
  assert.ok(intersects(left, rule.keys("right", scenario("User returns expected"))));
  assert.equal(
    rule.evaluate(task("build_user_service"), scenario("User returns expected"))?.fired,
    true,
  );
});

Deno.test("heuristic finds a pair the rounding of its score lifts to the threshold", () => {
  // Dice 2/3 scores 0.666667: it reaches 0.6666668, though it shares one word of three.
  const nameOnly = heuristic.create(heuristic.schema.parse({
    ...config,
    threshold: 0.6666668,
    features: [config.features[0]],
  }));
  const l = task("user_api"), r = scenario("user");
  assert.equal(nameOnly.evaluate(l, r)?.fired, true);
  assert.ok(intersects(nameOnly.probes!("left", l), nameOnly.keys("right", r)));
  assert.ok(intersects(nameOnly.probes!("right", r), nameOnly.keys("left", l)));
});

Deno.test("heuristic with two windows looks up names within the larger one", () => {
  const two = heuristic.create(heuristic.schema.parse({
    ...config,
    threshold: 0.55,
    features: [
      config.features[0],
      { type: "time_proximity", window_seconds: 60, weight: 0.2 },
      { type: "time_proximity", window_seconds: 3600, weight: 0.2 },
    ],
  }));
  // 0.6 * 4/5 + 0.2 * 0 + 0.2 * (1 - 1800/3600) = 0.58: half an hour apart, it fires.
  const l = task("user_service"), r = scenario("User service works", 1_800_000);
  assert.equal(two.evaluate(l, r)?.fired, true);
  assert.ok(intersects(two.probes!("left", l), two.keys("right", r)));
  assert.ok(intersects(two.probes!("right", r), two.keys("left", l)));
});

Deno.test("heuristic schema rejects time features whose share rounds up to the threshold", () => {
  const result = heuristic.schema.safeParse({
    ...config,
    threshold: 0.6,
    features: [
      { type: "name_similarity", left: "node_id", right: "scenario_name", weight: 0.4000004 },
      { type: "time_proximity", window_seconds: 600, weight: 0.5999996 },
    ],
  });
  assert.deepEqual(result.error?.issues.map((i) => i.path), [["threshold"]]);
});

Deno.test("heuristic finds every pair it fires on, for any weights, threshold and times", () => {
  const name = fc.array(fc.constantFrom("user", "service", "api", "run", "the", "x1"), {
    minLength: 0,
    maxLength: 6,
  }).map((w) => w.join("_"));
  const feature = fc.oneof(
    fc.record({
      type: fc.constant("name_similarity"),
      weight: fc.constantFrom(0.2, 0.4, 0.6, 1, 2),
    }),
    fc.record({
      type: fc.constant("time_proximity"),
      weight: fc.constantFrom(0.2, 0.4, 1),
      window_seconds: fc.constantFrom(60, 600),
    }),
    fc.record({ type: fc.constant("same_value"), weight: fc.constantFrom(0.4, 1) }),
  );
  const props = fc.tuple(name, name, fc.constantFrom("a", "b"));
  const time = fc.integer({ min: 0, max: 2_000_000 });
  fc.assert(
    fc.property(
      fc.array(feature, { minLength: 1, maxLength: 4 }),
      fc.constantFrom(0.2, 0.4, 0.5, 0.6, 0.6666668, 0.8, 1),
      props,
      props,
      time,
      time,
      (features, threshold, [l1, l2, lv], [r1, r2, rv], lt, rt) => {
        let names = 0;
        const parsed = heuristic.schema.safeParse({
          ...config,
          threshold,
          features: features.map((f) =>
            f.type === "name_similarity"
              ? { ...f, left: `n${++names}`, right: `n${names}` }
              : f.type === "same_value"
              ? { ...f, left: "v", right: "v" }
              : f
          ),
        });
        if (!parsed.success) return;
        const r = heuristic.create(parsed.data);
        const left = entity("Task", { n1: l1, n2: l2, n3: l1, n4: l2, v: lv }, { seen: lt });
        const right = entity("Scenario", { n1: r1, n2: r2, n3: r2, n4: r1, v: rv }, { seen: rt });
        if (!r.evaluate(left, right)?.fired) return;
        assert.ok(intersects(r.probes!("left", left), r.keys("right", right)));
        assert.ok(intersects(r.probes!("right", right), r.keys("left", left)));
      },
    ),
    { numRuns: 3000, seed: 31 },
  );
});

Deno.test("heuristic has no keys and does not apply when a compared property is missing", () => {
  assert.deepEqual(rule.keys("left", entity("Task", {})), []);
  assert.deepEqual(rule.probes!("left", entity("Task", {})), []);
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
