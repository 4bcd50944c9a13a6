import assert from "node:assert/strict";
import type { Event } from "../core/types.ts";
import { createDecoder } from "../codecs/mod.ts";
import { loadSpec } from "../compiler/mod.ts";
import { createMapper, MappingError } from "./mod.ts";

const PIPELINE = new URL("../../pipeline.yaml", import.meta.url).pathname;
const { spec } = await loadSpec(PIPELINE, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");

const T = 1_700_000_000_000;
const decode = createDecoder(spec, () => T);
const mapper = createMapper(spec.entities, spec.relationships);

/** A decoded event (defaults filled, optional fields null), as the mapper gets it in the pipeline. */
function event(fields: Record<string, unknown>): { stream: string; event: Event } {
  const producers: Record<string, string> = {
    dde: "dag_executor",
    bdv: "bdv_runner",
    acc: "import_graph_builder",
  };
  const stream = spec!.streamOfEventType.get(fields.event_type as string)!;
  const decoded = decode({
    value: new TextEncoder().encode(JSON.stringify({
      event_id: "e-1",
      iteration_id: "it-1",
      timestamp: T,
      producer: producers[stream],
      ...fields,
    })),
    format: "json",
    position: { kind: "file", path: "events.jsonl", line: 1 },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return { stream: decoded.stream, event: decoded.event };
}

const map = (fields: Record<string, unknown>) => {
  const { stream, event: e } = event(fields);
  return mapper.map(stream, e);
};

Deno.test("mapper turns a task event into a Task with its non-null properties and HAS_TASK", () => {
  const mapped = map({
    event_type: "TASK_STARTED",
    workflow_id: "wf-1",
    node_id: "build",
    status: "RUNNING",
  });
  assert.deepEqual(mapped.entities, [{
    label: "Task",
    iteration_id: "it-1",
    key: ["build"],
    time: T,
    props: { node_id: "build", workflow_id: "wf-1", status: "RUNNING", attempt: 1 },
  }]);
  assert.deepEqual(mapped.relationships, [{
    type: "HAS_TASK",
    iteration_id: "it-1",
    from: { label: "Workflow", iteration_id: "it-1", key: ["wf-1"] },
    to: { label: "Task", iteration_id: "it-1", key: ["build"] },
    time: T,
  }]);
});

Deno.test("mapper throws a MappingError only when the event names nothing it could be about", () => {
  const { stream, event: e } = event({
    event_type: "ARTIFACT_CREATED",
    workflow_id: "wf-1",
    node_id: "build",
  });
  assert.throws(
    () => mapper.map(stream, e),
    (error: unknown) => {
      assert.ok(error instanceof MappingError);
      assert.equal(error.name, "MappingError");
      assert.equal(
        error.message,
        'ARTIFACT_CREATED names nothing it could be about: Artifact needs "artifact_path", ' +
          'else "artifact_id"',
      );
      return true;
    },
  );
});

Deno.test("mapper names an entity by the first key alternative present", () => {
  const byId = map({
    event_type: "ARTIFACT_CREATED",
    workflow_id: "wf-1",
    node_id: "build",
    artifact_id: "a-1",
  });
  assert.deepEqual(byId.entities.map((e) => [e.label, e.key, e.props]), [
    ["Artifact", ["a-1"], { artifact_id: "a-1", node_id: "build" }],
  ]);
  // The relationship that references the entity resolves it the same way.
  assert.deepEqual(byId.relationships.map((r) => [r.type, r.from.key, r.to.key]), [
    ["PRODUCED", ["build"], ["a-1"]],
  ]);
  const both = map({
    event_type: "ARTIFACT_CREATED",
    workflow_id: "wf-1",
    artifact_id: "a-1",
    artifact_path: "src/a.py",
  });
  assert.deepEqual(both.entities.map((e) => e.key), [["src/a.py"]]);
});

Deno.test("mapper keys a module by its normalised path, else by its dotted name, in every relationship", () => {
  const byPath = map({
    event_type: "MODULE_ANALYZED",
    analysis_id: "an-1",
    module_path: "./src//api\\user_service.py",
  });
  assert.deepEqual(byPath.entities.map((e) => [e.label, e.key]), [
    ["Module", ["src/api/user_service.py"]],
  ]);
  // The property keeps what the event said; the key is normalised.
  assert.equal(byPath.entities[0].props.module_path, "./src//api\\user_service.py");
  assert.deepEqual(byPath.relationships.map((r) => [r.type, r.to.key]), [
    ["ANALYZED", ["src/api/user_service.py"]],
  ]);
  const byName = map({
    event_type: "LAYERING_VIOLATION",
    analysis_id: "an-1",
    module_name: "api.user_service",
    rule_id: "no-upward-imports",
  });
  assert.deepEqual(byName.entities.map((e) => [e.label, e.key]), [
    ["Violation", ["api.user_service", "no-upward-imports"]],
  ]);
  assert.deepEqual(byName.relationships.map((r) => [r.type, r.from.key, r.to.key]), [
    ["HAS_VIOLATION", ["api.user_service"], ["api.user_service", "no-upward-imports"]],
  ]);
});

Deno.test("mapper still processes an event that names one of its entities but not another", () => {
  const mapped = map({
    event_type: "SCENARIO_PASSED",
    test_run_id: "tr-1",
    scenario_name: "Login works",
  });
  assert.deepEqual(mapped.entities.map((e) => [e.label, e.key]), [
    ["Scenario", ["Login works"]],
  ]);
  assert.deepEqual(mapped.relationships, []); // no feature file: no HAS_SCENARIO
});

Deno.test("mapper skips a relationship whose endpoint key is missing from the event", () => {
  const mapped = map({
    event_type: "ARTIFACT_CREATED",
    workflow_id: "wf-1",
    artifact_path: "src/api/user_service.py",
  });
  assert.deepEqual(mapped.entities.map((e) => [e.label, e.key]), [
    ["Artifact", ["src/api/user_service.py"]],
  ]);
  assert.deepEqual(mapped.relationships, []);

  const withTask = map({
    event_type: "ARTIFACT_CREATED",
    workflow_id: "wf-1",
    node_id: "build",
    artifact_path: "src/api/user_service.py",
  });
  assert.deepEqual(withTask.relationships.map((r) => [r.type, r.from.key, r.to.key]), [
    ["PRODUCED", ["build"], ["src/api/user_service.py"]],
  ]);
});

Deno.test("mapper puts metadata.dde_node_id into the property dde_node_id", () => {
  const scenario = map({
    event_type: "SCENARIO_PASSED",
    test_run_id: "run-1",
    scenario_id: "s-1",
    scenario_name: "User service returns the profile",
    metadata: { dde_node_id: "build", other: "x" },
  });
  assert.equal(scenario.entities[0].label, "Scenario");
  assert.equal(scenario.entities[0].props.dde_node_id, "build");
  assert.equal("metadata" in scenario.entities[0].props, false);
  assert.equal("other" in scenario.entities[0].props, false);

  const module = map({
    event_type: "MODULE_ANALYZED",
    analysis_id: "an-1",
    module_name: "api.user_service",
    metadata: { dde_node_id: "build" },
  });
  assert.equal(module.entities[0].props.dde_node_id, "build");
});

Deno.test("mapper leaves dde_node_id out when the metadata does not carry it", () => {
  const scenario = map({ event_type: "SCENARIO_PASSED", test_run_id: "run-1", scenario_id: "s-1" });
  assert.equal("dde_node_id" in scenario.entities[0].props, false);
  // Null optional fields are no observation at all, so they never erase a known value.
  assert.equal("scenario_name" in scenario.entities[0].props, false);
  // An empty tags list says nothing, so it must not erase tags an earlier event gave.
  assert.equal("tags" in scenario.entities[0].props, false);
});

Deno.test("mapper keys an entity by several fields and by an array as JSON text", () => {
  const violation = map({
    event_type: "LAYERING_VIOLATION",
    analysis_id: "an-1",
    module_name: "api.user_service",
    rule_id: "no-db-in-api",
  });
  assert.deepEqual(violation.entities[0].key, ["api.user_service", "no-db-in-api"]);
  assert.deepEqual(violation.relationships.map((r) => [r.type, r.from.key, r.to.key]), [
    ["HAS_VIOLATION", ["api.user_service"], ["api.user_service", "no-db-in-api"]],
  ]);
  const cycle = map({ event_type: "CYCLE_DETECTED", analysis_id: "an-1", cycle: ["a", "b"] });
  assert.deepEqual(cycle.entities[0].key, ['["a","b"]']);
});

Deno.test("mapper maps an event type without mappings to nothing", () => {
  assert.deepEqual(map({ event_type: "STEP_EXECUTED", test_run_id: "run-1" }), {
    entities: [],
    relationships: [],
  });
});

Deno.test("mapper refuses an entity whose id would not fit the graph stores' indexes", () => {
  // Each key field is within max_id_bytes, but escaped in the id they are over 1300 bytes.
  const quotes = '"'.repeat(500);
  assert.throws(
    () =>
      map({
        event_type: "VIOLATION_DETECTED",
        analysis_id: "an-1",
        module_name: quotes,
        rule_id: quotes,
      }),
    (error: unknown) => {
      assert.ok(error instanceof MappingError);
      assert.match(error.message, /^the id of Violation .* is 2026 bytes, more than the graph/);
      return true;
    },
  );
  // One such field is fine.
  const mapped = map({ event_type: "MODULE_ANALYZED", analysis_id: "an-1", module_name: quotes });
  assert.deepEqual(mapped.entities.map((e) => e.key), [[quotes]]);
});
