/**
 * The spec compiler's error reporting: every problem, at once, with the exact message and the
 * file, line, column and YAML path of the node the user has to change. Fixtures are in
 * `testdata/specs/<case>/`; each positions comment quotes the fixture line it points into.
 */
import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { formatErrors, loadSpec, type SpecError } from "./mod.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const SPECS = join(ROOT, "testdata", "specs");

type Env = Record<string, string>;

/**
 * Load `testdata/specs/<name>/pipeline.yaml` with a fixed environment (never the real one). The
 * fixtures share the repository's Avro schemas and `_shared/rules.yaml`, outside their own folder.
 */
function load(name: string, env: Env = {}) {
  const allowed: Env = { ICS_ALLOW_OUTSIDE: ROOT, ...env };
  return loadSpec(join(SPECS, name, "pipeline.yaml"), (n) => allowed[n]);
}

/** The file name the compiler reports: relative to the working directory when inside it. */
function shown(...parts: string[]): string {
  const path = join(SPECS, ...parts);
  const rel = relative(Deno.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}

/** An expected error in `testdata/specs/<parts>`. */
function err(
  parts: string[],
  line: number,
  column: number,
  path: string,
  message: string,
): SpecError {
  return { file: shown(...parts), line, column, path, message };
}

/** Errors in the order formatErrors() prints them: file, line, column. */
function sorted(errors: SpecError[]): SpecError[] {
  return [...errors].sort((a, b) =>
    a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column
  );
}

async function copyDir(from: string, to: string) {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isFile) await Deno.copyFile(join(from, entry.name), join(to, entry.name));
  }
}

// ---- the shipped spec and the policy hash -------------------------------------------------------

Deno.test("loadSpec() loads the shipped pipeline.yaml with every rule and a 16-hex policy hash", async () => {
  const first = await loadSpec(join(ROOT, "pipeline.yaml"), () => undefined);
  assert.deepEqual(first.errors, []);
  assert.ok(first.spec);
  assert.ok(first.spec.rules.length >= 8, `${first.spec.rules.length} rules`);
  assert.equal(first.spec.rules.length, first.spec.ruleSpecs.length);
  assert.match(first.spec.policy, /^[0-9a-f]{16}$/);
  const second = await loadSpec(join(ROOT, "pipeline.yaml"), () => undefined);
  assert.equal(second.spec?.policy, first.spec.policy);
});

Deno.test("loadSpec() gives a policy hash that depends on the rules, not on where the spec lives", async () => {
  const shipped = await loadSpec(join(ROOT, "pipeline.yaml"), () => undefined);
  const dir = await Deno.makeTempDir({ prefix: "ics_spec_" });
  try {
    await Deno.copyFile(join(ROOT, "pipeline.yaml"), join(dir, "pipeline.yaml"));
    await copyDir(join(ROOT, "rules"), join(dir, "rules"));
    await copyDir(join(ROOT, "schemas", "avro"), join(dir, "schemas", "avro"));
    const copy = await loadSpec(join(dir, "pipeline.yaml"), () => undefined);
    assert.deepEqual(copy.errors, []);
    assert.equal(copy.spec?.policy, shipped.spec?.policy);

    // Change one rule's confidence (to a value it cannot already have).
    const tags = join(dir, "rules", "tags.yaml");
    const text = await Deno.readTextFile(tags);
    const edited = text.replace(
      /confidence: ([0-9.]+)/,
      (_, v) => `confidence: ${v === "0.42" ? "0.43" : "0.42"}`,
    );
    assert.notEqual(edited, text);
    await Deno.writeTextFile(tags, edited);
    const changed = await loadSpec(join(dir, "pipeline.yaml"), () => undefined);
    assert.deepEqual(changed.errors, []);
    assert.match(changed.spec!.policy, /^[0-9a-f]{16}$/);
    assert.notEqual(changed.spec!.policy, shipped.spec!.policy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadSpec() loads the smallest valid fixture", async () => {
  const { spec, errors } = await load("valid");
  assert.deepEqual(errors, []);
  assert.deepEqual([...spec!.streams.keys()], ["dde", "bdv"]);
  assert.deepEqual(spec!.rules.map((r) => r.id), ["scenario-task"]);
});

// ---- schema errors ------------------------------------------------------------------------------

Deno.test("loadSpec() reports an unknown top-level key with a did-you-mean hint", async () => {
  const { spec, errors } = await load("unknown_key_top");
  assert.equal(spec, undefined);
  // 17: "runtme:"
  assert.deepEqual(errors, [
    err(
      ["unknown_key_top", "pipeline.yaml"],
      17,
      1,
      "runtme",
      'unknown key "runtme" (did you mean "runtime"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports an unknown key inside a target's source with a did-you-mean hint", async () => {
  const { errors } = await load("unknown_key_source");
  // 19: "    source: { type: file, path: events.jsonl, batch_sise: 500 }"
  assert.deepEqual(errors, [
    err(
      ["unknown_key_source", "pipeline.yaml"],
      19,
      47,
      "targets.local.source.batch_sise",
      'unknown key "batch_sise" (did you mean "batch_size"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports an unknown key inside a rule with a did-you-mean hint", async () => {
  const { errors } = await load("unknown_key_rule");
  // rules/ids.yaml 7: "    confidance: 0.9"
  assert.deepEqual(errors, [
    err(
      ["unknown_key_rule", "rules", "ids.yaml"],
      7,
      5,
      "rules[0].confidance",
      'unknown key "confidance" (did you mean "confidence"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports an unknown type: of a target component at the type value", async () => {
  const { errors } = await load("unknown_component_type");
  // 19: "    source: { type: kafak, path: events.jsonl }"
  assert.deepEqual(errors, [
    err(
      ["unknown_component_type", "pipeline.yaml"],
      19,
      21,
      "targets.local.source.type",
      '"kafak" is not one of "file", "kafka" (did you mean "kafka"?)',
    ),
  ]);
});

Deno.test("loadSpec() still checks the rule files when pipeline.yaml has a schema error", async () => {
  const { errors } = await load("schema_error_and_rule_errors");
  // 17: "runtme: { queue_batches: 4 }"; rules/ids.yaml 7: "    confidance: 0.9"
  assert.deepEqual(sorted(errors), [
    err(
      ["schema_error_and_rule_errors", "pipeline.yaml"],
      17,
      1,
      "runtme",
      'unknown key "runtme" (did you mean "runtime"?)',
    ),
    err(
      ["schema_error_and_rule_errors", "rules", "ids.yaml"],
      7,
      5,
      "rules[0].confidance",
      'unknown key "confidance" (did you mean "confidence"?)',
    ),
  ]);
});

// ---- ${VAR} interpolation -----------------------------------------------------------------------

Deno.test("loadSpec() interpolates ${VAR} and ${VAR:-default} from the env lookup", async () => {
  const defaults = await load("env", { ICS_DDE_TOPIC: "prod.events.dde" });
  assert.deepEqual(defaults.errors, []);
  assert.equal(defaults.spec!.streams.get("dde")!.topic, "prod.events.dde");
  assert.equal(defaults.spec!.streams.get("bdv")!.topic, "trimodal.events.bdv");

  const set = await load("env", { ICS_DDE_TOPIC: "a", ICS_TOPIC_PREFIX: "staging" });
  assert.deepEqual(set.errors, []);
  assert.equal(set.spec!.streams.get("bdv")!.topic, "staging.events.bdv");

  // As in sh, ":-" also falls back when the variable is set but empty.
  const empty = await load("env", { ICS_DDE_TOPIC: "a", ICS_TOPIC_PREFIX: "" });
  assert.equal(empty.spec!.streams.get("bdv")!.topic, "trimodal.events.bdv");
});

Deno.test("loadSpec() reports an unset environment variable at the value that names it", async () => {
  const { spec, errors } = await load("env");
  assert.equal(spec, undefined);
  // 5: "    topic: ${ICS_DDE_TOPIC}" (no extra complaint about the empty topic it leaves behind)
  assert.deepEqual(errors, [
    err(
      ["env", "pipeline.yaml"],
      5,
      12,
      "streams.dde.topic",
      'environment variable "ICS_DDE_TOPIC" is not set (use ${ICS_DDE_TOPIC:-default} for a default)',
    ),
  ]);
});

// ---- cross-references: streams, entities, relationships -----------------------------------------

Deno.test("loadSpec() reports an entity key field missing from the stream's Avro schema with a hint", async () => {
  const { errors } = await load("entity_key_unknown_field");
  // 13: "    key: [scenario_uid]"
  assert.deepEqual(errors, [
    err(
      ["entity_key_unknown_field", "pipeline.yaml"],
      13,
      11,
      "entities.Scenario.key[0]",
      `"scenario_uid" is not a field of stream bdv's Avro schema (did you mean "scenario_id"?)`,
    ),
  ]);
});

Deno.test("loadSpec() asks for a property name when a property is a dotted field", async () => {
  const { errors } = await load("dotted_property_without_name");
  // 14: "    properties: [scenario_name, metadata.dde_node_id]"
  assert.deepEqual(errors, [
    err(
      ["dotted_property_without_name", "pipeline.yaml"],
      14,
      33,
      "entities.Scenario.properties[1]",
      '"metadata.dde_node_id" needs a property name: write { name: ..., field: metadata.dde_node_id }',
    ),
  ]);
});

Deno.test("loadSpec() reports an event type missing from the stream's enum with a hint", async () => {
  const { errors } = await load("unknown_event_type");
  // 8: "    when: { event_type: [TASK_STARTED, TASK_COMPLETE] }"
  assert.deepEqual(errors, [
    err(
      ["unknown_event_type", "pipeline.yaml"],
      8,
      40,
      "entities.Task.when.event_type[1]",
      '"TASK_COMPLETE" is not an event type of stream dde (did you mean "TASK_COMPLETED"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports a relationship endpoint naming an unknown entity label", async () => {
  const { errors } = await load("relationship_unknown_entity");
  // 23: "    from: { entity: Workflw, key: [workflow_id] }"
  assert.deepEqual(errors, [
    err(
      ["relationship_unknown_entity", "pipeline.yaml"],
      23,
      21,
      "relationships[0].from.entity",
      '"Workflw" is not an entity defined in entities (did you mean "Workflow"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports a relationship endpoint key with the wrong number of fields", async () => {
  const { errors } = await load("relationship_key_arity");
  // 24: "    to: { entity: Task, key: [workflow_id, node_id] }"
  assert.deepEqual(errors, [
    err(
      ["relationship_key_arity", "pipeline.yaml"],
      24,
      30,
      "relationships[0].to.key",
      "Task's natural key has 1 field; this names 2 fields",
    ),
  ]);
});

Deno.test("loadSpec() reports a rule glob that matches no file", async () => {
  const { errors } = await load("rule_glob_matches_nothing");
  // 11: "  rules: [rules/*.yml]"
  assert.deepEqual(errors, [
    err(
      ["rule_glob_matches_nothing", "pipeline.yaml"],
      11,
      11,
      "correlation.rules[0]",
      'no rule file matches "rules/*.yml"',
    ),
  ]);
});

const MISSING_SCHEMA = err(
  ["missing_avro_schema", "pipeline.yaml"],
  3, // "  dde: { schema: ../../../schemas/avro/dde_events.avsc, topic: t.dde }"
  18,
  "streams.dde.schema",
  'schema file "../../../schemas/avro/dde_events.avsc" does not exist',
);

Deno.test("loadSpec() reports a missing Avro schema file at the stream's schema", async () => {
  const { spec, errors } = await load("missing_avro_schema");
  assert.equal(spec, undefined);
  assert.deepEqual(errors.filter((e) => e.path === "streams.dde.schema"), [MISSING_SCHEMA]);
});

Deno.test("loadSpec() does not blame rules for entities whose stream schema is missing", async () => {
  // Task is defined; only its stream's schema is missing. A rule naming Task is not an error.
  const { errors } = await load("missing_avro_schema");
  assert.deepEqual(errors, [MISSING_SCHEMA]);
});

Deno.test("loadSpec() reports a dedup key field missing from the stream's Avro schema", async () => {
  const { errors } = await load("dedup_key_unknown_field");
  // 7: "    dde: [iteration_id, event_type, node_idd, timestamp]"
  assert.deepEqual(errors, [
    err(
      ["dedup_key_unknown_field", "pipeline.yaml"],
      7,
      37,
      "dedup.key.dde[2]",
      `"node_idd" is not a field of stream dde's Avro schema (did you mean "node_id"?)`,
    ),
  ]);
});

Deno.test("loadSpec() reports a default_target naming an undefined target, with a hint", async () => {
  const { errors } = await load("default_target_undefined");
  // 15: "default_target: locl"
  assert.deepEqual(errors, [
    err(
      ["default_target_undefined", "pipeline.yaml"],
      15,
      17,
      "default_target",
      'target "locl" is not defined in targets (did you mean "local"?)',
    ),
  ]);
});

// ---- cross-references: rules --------------------------------------------------------------------

Deno.test("loadSpec() reports a rule naming an unknown entity with a did-you-mean hint", async () => {
  const { errors } = await load("rule_unknown_entity");
  // rules/ids.yaml 5: "    left: { entity: Scenaro, field: dde_node_id }"
  assert.deepEqual(errors, [
    err(
      ["rule_unknown_entity", "rules", "ids.yaml"],
      5,
      21,
      "rules[0].left.entity",
      '"Scenaro" is not an entity defined in entities (did you mean "Scenario"?)',
    ),
  ]);
});

Deno.test("loadSpec() reports a rule field missing from the entity with a hint and its properties", async () => {
  const { errors } = await load("rule_unknown_property");
  // rules/ids.yaml 6: "    right: { entity: Task, field: nod_id }"
  assert.deepEqual(errors, [
    err(
      ["rule_unknown_property", "rules", "ids.yaml"],
      6,
      35,
      "rules[0].right.field",
      '"nod_id" is not a property of Task (did you mean "node_id"?); ' +
        "its properties: node_id, workflow_id, status, attempt",
    ),
  ]);
});

Deno.test("loadSpec() points an unknown property of a heuristic feature at that feature", async () => {
  const { errors } = await load("heuristic_unknown_property");
  // rules/heuristics.yaml 8: "      - { type: name_similarity, left: node_id, right: scenario_nme }"
  assert.deepEqual(errors, [
    err(
      ["heuristic_unknown_property", "rules", "heuristics.yaml"],
      8,
      56,
      "rules[0].features[0].right",
      '"scenario_nme" is not a property of Scenario (did you mean "scenario_name"?); ' +
        "its properties: scenario_id, scenario_name, tags, dde_node_id",
    ),
  ]);
});

Deno.test("loadSpec() reports a rule field whose Avro type does not suit the rule kind", async () => {
  const { errors } = await load("rule_wrong_type");
  // rules/paths.yaml 6: "    left: { entity: Task, field: attempt }" (attempt is an Avro int)
  assert.deepEqual(errors, [
    err(
      ["rule_wrong_type", "rules", "paths.yaml"],
      6,
      34,
      "rules[0].left.field",
      '"attempt" is int; a file_path rule needs string',
    ),
  ]);
});

Deno.test("loadSpec() reports a rule id defined in two rule files, naming the first place", async () => {
  const { errors } = await load("duplicate_rule_id");
  // rules/b.yaml 9: "  - id: scenario-task"; rules/a.yaml 2 defines it first
  assert.deepEqual(errors, [
    err(
      ["duplicate_rule_id", "rules", "b.yaml"],
      9,
      9,
      "rules[1].id",
      `duplicate rule id "scenario-task" (first defined at ${
        shown("duplicate_rule_id", "rules", "a.yaml")
      }:2)`,
    ),
  ]);
});

Deno.test("loadSpec() reports a duplicate key in a rule file at the repeated key, with its path", async () => {
  const { errors } = await load("duplicate_key_in_rule");
  // rules/ids.yaml 7: "    left: { entity: Task, field: node_id }" repeats line 5's "left"
  assert.deepEqual(errors, [
    err(
      ["duplicate_key_in_rule", "rules", "ids.yaml"],
      7,
      5,
      "rules[0].left",
      'duplicate key "left"',
    ),
  ]);
});

// ---- YAML syntax --------------------------------------------------------------------------------

Deno.test("loadSpec() reports a YAML syntax error with its position instead of throwing", async () => {
  const { spec, errors } = await load("yaml_syntax");
  assert.equal(spec, undefined);
  // 9: "    when: event_type: [TASK_STARTED]"
  assert.deepEqual(errors, [
    err(
      ["yaml_syntax", "pipeline.yaml"],
      9,
      11,
      "",
      "Nested mappings are not allowed in compact mappings",
    ),
  ]);
});

Deno.test("loadSpec() points a mis-indented mapping key at the key, not at the line start", async () => {
  const { errors } = await load("yaml_bad_indent");
  // 14: "     key: [scenario_id]" (one space too many: the key starts in column 6)
  assert.deepEqual(errors, [
    err(
      ["yaml_bad_indent", "pipeline.yaml"],
      14,
      6,
      "",
      "All mapping items must start at the same column",
    ),
  ]);
});

Deno.test("loadSpec() reports a spec file that cannot be read at 1:1", async () => {
  const missing = join(SPECS, "no_such_case", "pipeline.yaml");
  const { spec, errors } = await loadSpec(missing, () => undefined);
  assert.equal(spec, undefined);
  assert.deepEqual(errors, [
    { file: missing, line: 1, column: 1, path: "", message: "file cannot be read" },
  ]);
});

// ---- many errors at once ------------------------------------------------------------------------

const P = ["many", "pipeline.yaml"];
const A = ["many", "rules", "a.yaml"];
const B = ["many", "rules", "b.yaml"];

/** Every problem of testdata/specs/many, in formatErrors() order. */
const MANY: SpecError[] = [
  // 8: "    bdv: [iteration_id, scenario, timestamp]"
  err(P, 8, 25, "dedup.key.bdv[1]", `"scenario" is not a field of stream bdv's Avro schema`),
  // 12: "    when: { event_type: [TASK_STARTED, TASK_FAILD] }"
  err(
    P,
    12,
    40,
    "entities.Task.when.event_type[1]",
    '"TASK_FAILD" is not an event type of stream dde (did you mean "TASK_FAILED"?)',
  ),
  // 14: "    properties: [workflow_id, attempt, metadata.owner]"
  err(
    P,
    14,
    40,
    "entities.Task.properties[2]",
    '"metadata.owner" needs a property name: write { name: ..., field: metadata.owner }',
  ),
  // 18: "    key: [scenario_key]"
  err(
    P,
    18,
    11,
    "entities.Scenario.key[0]",
    `"scenario_key" is not a field of stream bdv's Avro schema (did you mean "scenario_id"?)`,
  ),
  // 25: "    to: { entity: Tsak, key: [metadata.dde_node_id] }"
  err(
    P,
    25,
    19,
    "relationships[0].to.entity",
    '"Tsak" is not an entity defined in entities (did you mean "Task"?)',
  ),
  // 28: "default_target: production"
  err(P, 28, 17, "default_target", 'target "production" is not defined in targets'),
  // a.yaml 6: "    right: { entity: Taks, field: node_id }"
  err(
    A,
    6,
    22,
    "rules[0].right.entity",
    '"Taks" is not an entity defined in entities (did you mean "Task"?)',
  ),
  // a.yaml 10: "    left: { entity: Scenario, field: workflow }"
  err(
    A,
    10,
    38,
    "rules[1].left.field",
    '"workflow" is not a property of Scenario; ' +
      "its properties: scenario_key, scenario_name, tags, dde_node_id",
  ),
  // b.yaml 2: "  - id: scenario-task" (also a.yaml's first rule)
  err(
    B,
    2,
    9,
    "rules[0].id",
    `duplicate rule id "scenario-task" (first defined at ${shown(...A)}:2)`,
  ),
  // b.yaml 11: "    left: { entity: Task, field: attempt }"
  err(B, 11, 34, "rules[1].left.field", '"attempt" is int; a file_path rule needs string'),
];

Deno.test("loadSpec() reports every problem of pipeline.yaml and two rule files in one call", async () => {
  const { spec, errors } = await load("many");
  assert.equal(spec, undefined);
  assert.deepEqual(sorted(errors), MANY);
});

// ---- formatErrors -------------------------------------------------------------------------------

Deno.test("formatErrors() prints one `file:line:column  path  message` line per error, in file order", async () => {
  const { errors } = await load("many");
  const lines = formatErrors(errors).split("\n");
  assert.equal(lines.length, MANY.length);
  assert.deepEqual(
    lines,
    MANY.map((e) => `${e.file}:${e.line}:${e.column}  ${e.path}  ${e.message}`),
  );
  assert.equal(
    lines[0],
    `${shown(...P)}:8:25  dedup.key.bdv[1]  "scenario" is not a field of stream bdv's Avro schema`,
  );
});

Deno.test("formatErrors() writes (root) for an error that has no YAML path", async () => {
  const { errors } = await load("yaml_syntax");
  assert.equal(
    formatErrors(errors),
    `${
      shown("yaml_syntax", "pipeline.yaml")
    }:9:11  (root)  Nested mappings are not allowed in compact mappings`,
  );
});

Deno.test("formatErrors() sorts by file, then line, then column", () => {
  const e = (file: string, line: number, column: number): SpecError => ({
    file,
    line,
    column,
    path: "x",
    message: "m",
  });
  assert.equal(
    formatErrors([e("b.yaml", 1, 1), e("a.yaml", 10, 2), e("a.yaml", 2, 9), e("a.yaml", 10, 1)]),
    ["a.yaml:2:9  x  m", "a.yaml:10:1  x  m", "a.yaml:10:2  x  m", "b.yaml:1:1  x  m"].join("\n"),
  );
});
