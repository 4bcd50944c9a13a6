/**
 * Natural keys with alternatives (`first_of`), relationship endpoints that default to their
 * entity's key, and idempotency keys derived from the mapping (README, "Identity and idempotency"). Each
 * case edits a copy of the shipped spec.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "../../tests/_copy.ts";
import { loadSpec } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "ics-keys-" });
await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
const shipped = await Deno.readTextFile(join(dir, "pipeline.yaml"));
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let n = 0;
async function edited(...edits: [string, string][]) {
  let text = shipped;
  for (const [from, to] of edits) {
    assert.equal(text.split(from).length, 2, `"${from}" occurs once in pipeline.yaml`);
    text = text.replace(from, to);
  }
  const file = join(dir, `case-${++n}.yaml`);
  await Deno.writeTextFile(file, text);
  return { ...(await loadSpec(file, () => undefined)), text };
}

function at(text: string, needle: string): { line: number; column: number } {
  const i = text.indexOf(needle);
  assert.ok(i >= 0, needle);
  const before = text.slice(0, i).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

Deno.test("the shipped spec derives each event type's idempotency key from what it maps to", async () => {
  const { spec } = await edited();
  const key = (stream: string, type: string) => spec!.streams.get(stream)!.dedupKeys.get(type);
  // A task event names its Task and, through HAS_TASK, its workflow.
  assert.deepEqual(key("dde", "TASK_STARTED"), [
    "iteration_id",
    "event_type",
    "node_id",
    "workflow_id",
    "timestamp",
  ]);
  // Two features started in one millisecond differ by feature_file.
  assert.ok(key("bdv", "FEATURE_STARTED")!.includes("feature_file"));
  // A module named only by its dotted name: module_name is in the key, beside module_path.
  assert.deepEqual(key("acc", "MODULE_ANALYZED"), [
    "iteration_id",
    "event_type",
    "module_path",
    "module_name",
    "analysis_id",
    "timestamp",
  ]);
  // Two contracts locked by one task at once differ by contract_id.
  assert.ok(key("dde", "CONTRACT_LOCKED")!.includes("contract_id"));
  // An event type mapped to nothing is about itself.
  assert.deepEqual(key("bdv", "STEP_EXECUTED"), [
    "iteration_id",
    "event_type",
    "event_id",
    "timestamp",
  ]);
  // The key format before the derivation, still looked up for a while after an upgrade.
  assert.deepEqual(spec!.streams.get("acc")!.legacyKey, [
    "iteration_id",
    "event_type",
    "module_path",
    "timestamp",
  ]);
  assert.ok(!spec!.streams.get("dde")!.digestFields.includes("event_id"));
});

Deno.test("dedup.key overrides the derived key per stream or per event type", async () => {
  const r = await edited([
    "  ttl_seconds: 604800",
    `  key:
    bdv: [iteration_id, event_type, event_id, timestamp]
    dde: { CONTRACT_LOCKED: [iteration_id, event_type, contract_id, node_id, timestamp] }
  ttl_seconds: 604800`,
  ]);
  assert.deepEqual(r.errors, []);
  const s = r.spec!.streams;
  assert.deepEqual(s.get("bdv")!.dedupKeys.get("FEATURE_STARTED"), [
    "iteration_id",
    "event_type",
    "event_id",
    "timestamp",
  ]);
  assert.deepEqual(s.get("dde")!.dedupKeys.get("CONTRACT_LOCKED"), [
    "iteration_id",
    "event_type",
    "contract_id",
    "node_id",
    "timestamp",
  ]);
  // Event types the override does not name keep the derived key.
  assert.ok(s.get("dde")!.dedupKeys.get("TASK_STARTED")!.includes("workflow_id"));
  // A stream-wide override is also the key earlier versions used.
  assert.deepEqual(s.get("bdv")!.legacyKey, [
    "iteration_id",
    "event_type",
    "event_id",
    "timestamp",
  ]);
});

Deno.test("dedup.key names an unknown event type or field with its position", async () => {
  const r = await edited([
    "  ttl_seconds: 604800",
    `  key:
    dde: { CONTRACT_LOKED: [iteration_id, contract_idd] }
  ttl_seconds: 604800`,
  ]);
  assert.deepEqual(
    r.errors.map((e) => [e.line, e.column, e.path, e.message]),
    [
      [
        at(r.text, "CONTRACT_LOKED").line,
        at(r.text, "CONTRACT_LOKED").column,
        "dedup.key.dde.CONTRACT_LOKED",
        '"CONTRACT_LOKED" is not an event type of stream dde (did you mean "CONTRACT_LOCKED"?)',
      ],
      [
        at(r.text, "contract_idd").line,
        at(r.text, "contract_idd").column,
        "dedup.key.dde.CONTRACT_LOKED[1]",
        `"contract_idd" is not a field of stream dde's Avro schema (did you mean "contract_id"?)`,
      ],
    ],
  );
});

Deno.test("a key alternative's unknown field is reported at its place in first_of", async () => {
  const r = await edited([
    "key: { first_of: [[module_path], [module_name]] }",
    "key: { first_of: [[module_path], [modul_name]] }",
  ]);
  // (The rule comparing Module's module_name reports it too: the property no longer exists.)
  assert.deepEqual(r.errors.slice(0, 1).map((e) => [e.line, e.column, e.path, e.message]), [[
    at(r.text, "modul_name]").line,
    at(r.text, "modul_name]").column,
    "entities.Module.key.first_of[1][0]",
    `"modul_name" is not a field of stream acc's Avro schema (did you mean "module_name"?)`,
  ]]);
});

Deno.test("first_of needs two alternatives, each a list of fields", async () => {
  const r = await edited([
    "key: { first_of: [[module_path], [module_name]] }",
    "key: { first_of: [[module_path]] }",
  ]);
  assert.equal(r.errors.length, 1);
  assert.equal(r.errors[0].path, "entities.Module.key.first_of");
  assert.match(r.errors[0].message, /2/);
});

Deno.test("a relationship endpoint without key needs the entity's key fields in its stream", async () => {
  // HAS_TASK on a bdv event: Task's key (node_id) is no bdv field.
  const r = await edited([
    `  - type: HAS_TASK
    stream: dde`,
    `  - type: HAS_TASK
    stream: bdv`,
  ], [
    "when: { event_type: [TASK_STARTED, TASK_COMPLETED, TASK_FAILED, TASK_RETRYING] }\n    from: { entity: Workflow }",
    "when: { event_type: [SCENARIO_PASSED] }\n    from: { entity: Workflow }",
  ]);
  assert.deepEqual(r.errors.map((e) => [e.path, e.message]), [
    [
      "relationships[0].from.entity",
      `Workflow's key field "workflow_id" is not in stream bdv's Avro schema; give the event ` +
      "fields that name it as key: [...]",
    ],
    [
      "relationships[0].to.entity",
      `Task's key field "node_id" is not in stream bdv's Avro schema; give the event fields ` +
      "that name it as key: [...]",
    ],
  ]);
});

Deno.test("an explicit endpoint key must match the arity of one of the entity's alternatives", async () => {
  const r = await edited([
    "    from: { entity: Module }\n    to: { entity: Violation }",
    "    from: { entity: Module, key: [module_name, rule_id] }\n    to: { entity: Violation }",
  ]);
  assert.deepEqual(r.errors.map((e) => [e.path, e.message]), [[
    "relationships[5].from.key",
    "Module's natural key has 1 field; this names 2 fields",
  ]]);
  // A single field naming a Module by its dotted name is fine.
  const ok = await edited([
    "    from: { entity: Module }\n    to: { entity: Violation }",
    "    from: { entity: Module, key: [target_module] }\n    to: { entity: Violation }",
  ]);
  assert.deepEqual(ok.errors, []);
  assert.deepEqual(ok.spec!.relationships[5].from.keys, [["target_module"]]);
});
