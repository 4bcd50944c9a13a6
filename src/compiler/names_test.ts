/**
 * Names in the spec. Those it hands to the stores (node labels, relationship types, property
 * names) are checked against strict identifier patterns at compile time, with the position of the
 * offending name; those that refer to something (streams, targets, fields, files) are resolved
 * without surprises (`constructor` is no stream, a folder or `/dev/zero` is no file). Each case
 * edits one line of a copy of the shipped spec; the expected position is computed from the edited
 * text, so a case states only what it changes and what it expects to hear.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "../../tests/_copy.ts";
import { loadSpec, type SpecError } from "./mod.ts";
import { yamlPath } from "../yaml/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "ics-identifiers-" });
await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
const shipped = await Deno.readTextFile(join(dir, "pipeline.yaml"));
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

let n = 0;
/** Load the shipped spec with `from` replaced by `to` (exactly once) in pipeline.yaml. */
async function edited(
  from: string,
  to: string,
  rules?: { file: string; from: string; to: string },
) {
  assert.equal(shipped.split(from).length, 2, `"${from}" occurs once in pipeline.yaml`);
  const text = shipped.replace(from, to);
  const file = join(dir, `case-${++n}.yaml`);
  await Deno.writeTextFile(file, text);
  let ruleText: string | undefined;
  if (rules) {
    const path = join(dir, "rules", rules.file);
    const original = await Deno.readTextFile(path);
    ruleText = original.replace(rules.from, rules.to);
    await Deno.writeTextFile(path, ruleText);
    try {
      return { ...(await loadSpec(file, () => undefined)), text, ruleText };
    } finally {
      await Deno.writeTextFile(path, original);
    }
  }
  return { ...(await loadSpec(file, () => undefined)), text, ruleText };
}

/** 1-based line and column of the first occurrence of `needle` at or after `after`. */
function position(text: string, needle: string, after = ""): { line: number; column: number } {
  const at = text.indexOf(needle, after ? text.indexOf(after) : 0);
  assert.ok(at >= 0, `"${needle}" in the edited text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

/** Position of what follows `prefix` (the value of `key: value`). */
function after(text: string, prefix: string) {
  const p = position(text, prefix);
  return { line: p.line, column: p.column + prefix.length };
}

function only(result: { errors: SpecError[]; spec?: unknown }): SpecError {
  assert.equal(result.spec, undefined, "the spec must not compile");
  assert.equal(result.errors.length, 1, JSON.stringify(result.errors, null, 2));
  return result.errors[0];
}

function assertError(
  error: SpecError,
  where: { line: number; column: number },
  path: string,
  message: string | RegExp,
) {
  assert.deepEqual({ line: error.line, column: error.column, path: error.path }, {
    ...where,
    path,
  });
  if (typeof message === "string") assert.equal(error.message, message);
  else assert.match(error.message, message);
}

Deno.test("an entity label must be a capitalised identifier, reported at the key", async () => {
  for (const bad of ["workflow", "Work-flow", "Work flow", "W`x", "W" + "x".repeat(64)]) {
    const r = await edited("  Workflow:\n", `  "${bad}":\n`);
    assertError(
      only(r),
      position(r.text, `"${bad}":`),
      yamlPath(["entities", bad]),
      `invalid key ${
        JSON.stringify(bad)
      }: must be a label such as Task: a capital letter, then at most 63 letters and digits`,
    );
  }
  // 64 characters is the longest label.
  const longest = "W" + "x".repeat(63);
  const ok = await edited(
    "  Workflow:\n",
    `  ${longest}:\n`,
  );
  // The relationships and rules still name Workflow: those errors are expected, the label is fine.
  assert.ok(ok.errors.every((e) => !e.path.startsWith(`entities.${longest}`)));
});

Deno.test("labels the graph store uses itself are reserved", async () => {
  for (const reserved of ["Entity", "NodeVersion"]) {
    const r = await edited("  QualityGate:\n", `  ${reserved}:\n`);
    assertError(
      only(r),
      position(r.text, `${reserved}:`),
      `entities.${reserved}`,
      `invalid key "${reserved}": "${reserved}" is reserved for the graph store's own nodes`,
    );
  }
});

Deno.test("a relationship type must be an upper-case identifier, Cypher text is refused", async () => {
  for (
    const bad of ["has_task", "HAS-TASK", "HAS TASK", "HAS_TASK]->() DETACH DELETE n //", "1X"]
  ) {
    const r = await edited("type: HAS_TASK", `type: ${JSON.stringify(bad)}`);
    assertError(
      only(r),
      position(r.text, JSON.stringify(bad)),
      "relationships[0].type",
      "must be a relationship type such as HAS_TASK: a capital letter, then at most 63 of " +
        "A-Z, 0-9, _",
    );
  }
});

Deno.test("relationship types the graph stores use themselves are reserved", async () => {
  for (const reserved of ["CORRELATES", "VERSION_OF"]) {
    const r = await edited("type: HAS_TASK", `type: ${reserved}`);
    assertError(
      only(r),
      after(r.text, "- type: "),
      "relationships[0].type",
      `"${reserved}" is reserved for the graph store's own relationships`,
    );
  }
});

Deno.test("a relationship endpoint must name a label by the label pattern", async () => {
  const r = await edited("from: { entity: Workflow }", `from: { entity: "Workflow'})" }`);
  assertError(
    only(r),
    position(r.text, `"Workflow'})"`),
    "relationships[0].from.entity",
    "must be a label such as Task: a capital letter, then at most 63 letters and digits",
  );
});

Deno.test("a property name given with { name, field } must be a lower-case identifier", async () => {
  const line = "{ name: dde_node_id, field: metadata.dde_node_id }\n  Analysis:";
  for (const bad of ["dde node id", "ddeNodeId", "dde-node-id", "x`}) DETACH DELETE n //"]) {
    const r = await edited(line, line.replace("name: dde_node_id", `name: ${JSON.stringify(bad)}`));
    assertError(
      only(r),
      position(r.text, JSON.stringify(bad)),
      "entities.Scenario.properties[5].name",
      "must be a property name such as dde_node_id: a-z or _, then at most 63 of a-z, 0-9, _",
    );
  }
});

Deno.test("property names the graph store uses itself are reserved", async () => {
  const line = "{ name: dde_node_id, field: metadata.dde_node_id }\n  Analysis:";
  for (const reserved of ["id", "key", "label", "valid_from", "props_json"]) {
    const r = await edited(line, line.replace("name: dde_node_id", `name: ${reserved}`));
    assertError(
      only(r),
      position(r.text, `${reserved}, field: metadata.dde_node_id }\n  Analysis:`),
      "entities.Scenario.properties[5].name",
      `"${reserved}" is reserved for the graph store's own fields`,
    );
  }
});

Deno.test("a key field of a metadata entry must give a valid property name", async () => {
  const line = "    key: [analysis_id]\n    properties: [message]";
  const r = await edited(line, line.replace("analysis_id", "metadata.Run-Id"));
  assertError(
    only(r),
    position(r.text, "metadata.Run-Id"),
    "entities.Analysis.key[0]",
    '"metadata.Run-Id" gives the property name "Run-Id": must be a property name such as ' +
      "dde_node_id: a-z or _, then at most 63 of a-z, 0-9, _",
  );
  // A valid one compiles, and the key field is a property under its last segment.
  const ok = await edited(line, line.replace("analysis_id", "metadata.run_id"));
  assert.deepEqual(ok.errors, []);
  const analysis = ok.spec!.entities.find((e) => e.label === "Analysis")!;
  assert.deepEqual(analysis.properties[0], { name: "run_id", field: "metadata.run_id" });
});

Deno.test("one property name must not stand for two fields of an entity", async () => {
  const r = await edited(
    "properties: [workflow_id, status, attempt, duration_ms, error_message]",
    "properties: [workflow_id, status, attempt, duration_ms, error_message, " +
      "{ name: status, field: metadata.status }]",
  );
  assertError(
    only(r),
    position(r.text, "status, field: metadata.status"),
    "entities.Task.properties[5].name",
    'property "status" already holds the field "status"',
  );
});

Deno.test("rule files name entities and properties by the same patterns", async () => {
  const r = await edited("version: 1", "version: 1", {
    file: "explicit_ids.yaml",
    from: "entity: Scenario",
    to: 'entity: "Scenario})"',
  });
  const error = only(r);
  assert.equal(error.file.endsWith("explicit_ids.yaml"), true);
  assertError(
    error,
    position(r.ruleText!, '"Scenario})"'),
    error.path,
    "must be an entity label such as Artifact",
  );
  assert.match(error.path, /^rules\[\d\]\.(left|right)\.entity$/);

  const p = await edited("version: 1", "version: 1", {
    file: "explicit_ids.yaml",
    from: "field: contract_id",
    to: "field: contract-id",
  });
  const perror = only(p);
  assertError(
    perror,
    after(p.ruleText!, "field: "),
    perror.path,
    "must be a property name such as artifact_path",
  );
});

Deno.test("validation.path_fields names string fields of defined streams", async () => {
  const r = await edited(
    "  max_future_seconds: 86400\n",
    "  max_future_seconds: 86400\n  path_fields: { dde: [artifact_pth, attempt], xyz: [a] }\n",
  );
  assert.equal(r.spec, undefined);
  const at = (needle: string) => position(r.text, needle, "path_fields");
  assert.deepEqual(r.errors.map((e) => [e.line, e.column, e.path, e.message]), [
    [
      at("artifact_pth").line,
      at("artifact_pth").column,
      "validation.path_fields.dde[0]",
      '"artifact_pth" is not a field of stream dde\'s Avro schema (did you mean "artifact_path"?)',
    ],
    [
      at("attempt").line,
      at("attempt").column,
      "validation.path_fields.dde[1]",
      '"attempt" is int; a path field is a string',
    ],
    [
      at("xyz").line,
      at("xyz").column,
      "validation.path_fields.xyz",
      '"xyz" is not a stream defined in streams',
    ],
  ]);
});

Deno.test("names of Object.prototype members are not mistaken for defined streams or targets", async () => {
  const target = await edited("default_target: local", "default_target: constructor");
  assertError(
    only(target),
    position(target.text, "constructor"),
    "default_target",
    'target "constructor" is not defined in targets',
  );
  const stream = await edited(
    "  Workflow:\n    stream: dde",
    "  Workflow:\n    stream: constructor",
  );
  assertError(
    only(stream),
    position(stream.text, "constructor"),
    "entities.Workflow.stream",
    '"constructor" is not a stream defined in streams',
  );
});

Deno.test("a rule path naming a folder is an error at the path, not a crash", async () => {
  const r = await edited("rules: [rules/*.yaml]", "rules: [rules]");
  assertError(
    only(r),
    position(r.text, "rules]"),
    "correlation.rules[0]",
    '"rules" is a folder; name its files, e.g. "rules/*.yaml"',
  );
});

Deno.test("the compiled spec lists each stream's id fields and path fields", async () => {
  const r = await edited("version: 1", "version: 1");
  assert.deepEqual(r.errors, []);
  const s = (name: string) => r.spec!.streams.get(name)!;
  assert.deepEqual(s("dde").pathFields, ["artifact_path"]);
  assert.deepEqual(s("bdv").pathFields, ["feature_file"]);
  assert.deepEqual(s("acc").pathFields, ["module_path"]);
  assert.deepEqual(s("dde").idFields, [
    "event_id",
    "iteration_id",
    "workflow_id",
    "node_id",
    "artifact_path",
    "artifact_id",
    "contract_id",
    "contract_name",
    "contract_version",
    "quality_gate",
  ]);
  // Every field of every key alternative names something: module_path as much as module_name.
  assert.deepEqual(s("acc").idFields, [
    "event_id",
    "iteration_id",
    "analysis_id",
    "module_path",
    "module_name",
    "rule_id",
    "target_module",
    "cycle",
  ]);
});

Deno.test("a field named like an Object.prototype member is not a field of the schema", async () => {
  const r = await edited(
    "properties: [workflow_id, status, attempt, duration_ms, error_message]",
    "properties: [workflow_id, status, attempt, duration_ms, constructor]",
  );
  assertError(
    only(r),
    position(r.text, "constructor]"),
    "entities.Task.properties[4]",
    '"constructor" is not a field of stream dde\'s Avro schema',
  );
});

Deno.test("a schema or spec file that is a folder or a device is reported, not read", async () => {
  // A FIFO inside the spec's folder: reading it would wait forever for a writer.
  await new Deno.Command("mkfifo", { args: [join(dir, "fifo")] }).output();
  for (const file of ["schemas", "fifo"]) {
    const r = await edited("schema: schemas/avro/dde_event.avsc", `schema: ${file}`);
    assertError(
      only(r),
      after(r.text, "dde: { schema: "),
      "streams.dde.schema",
      `schema file "${file}" is not a file`,
    );
  }
  const spec = await loadSpec("/dev/zero", () => undefined);
  assert.deepEqual(spec.errors, [
    { file: "/dev/zero", line: 1, column: 1, path: "", message: "is not a file" },
  ]);
  const rules = await edited("rules: [rules/*.yaml]", "rules: [fifo]");
  assertError(
    only(rules),
    position(rules.text, "fifo"),
    "correlation.rules[0]",
    'no rule file matches "fifo"',
  );
});
