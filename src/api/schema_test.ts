/** The API's schema is generated from the spec: types, typed properties, relationship fields. */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  assertValidSchema,
  type GraphQLEnumType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { createSchema } from "graphql-yoga";
import { copy } from "../../tests/_copy.ts";
import { apiModel, apiSchema, sdl } from "./mod.ts";
import { loadRootSpec, ROOT } from "./_testing.ts";
import type { CompiledSpec } from "../compiler/mod.ts";

/** `field: Type` of each field of an object type. */
function fields(schema: GraphQLSchema, type: string): Record<string, string> {
  const t = schema.getType(type) as GraphQLObjectType | undefined;
  assert.ok(t, `no type ${type}`);
  return Object.fromEntries(
    Object.values(t.getFields()).map((f: GraphQLField<unknown, unknown>) => [
      f.name,
      String(f.type),
    ]),
  );
}

Deno.test("the API has a type per entity label with its properties typed from the Avro schemas", async () => {
  const schema = apiSchema(await loadRootSpec());
  assertValidSchema(schema);
  const task = fields(schema, "Task");
  assert.deepEqual(
    {
      node_id: task.node_id,
      workflow_id: task.workflow_id,
      status: task.status, // an Avro enum
      attempt: task.attempt, // int
      duration_ms: task.duration_ms, // long: exact in a Float to 2^53
      error_message: task.error_message,
    },
    {
      node_id: "String",
      workflow_id: "String",
      status: "String",
      attempt: "Int",
      duration_ms: "Float",
      error_message: "String",
    },
  );
  assert.equal(fields(schema, "Scenario").tags, "[String]");
  assert.equal(fields(schema, "Scenario").dde_node_id, "String"); // metadata.dde_node_id
  assert.equal(fields(schema, "QualityGate").gate_passed, "Boolean");
  assert.equal(fields(schema, "Module").instability, "Float");
  assert.equal(fields(schema, "Cycle").cycle, "[String]");
  // Every entity type has the fields of an entity, and is one.
  for (const label of ["Task", "Workflow", "Module", "Scenario"]) {
    const f = fields(schema, label);
    for (const name of ["id", "ref", "key", "validFrom", "observedAt", "links", "versions"]) {
      assert.ok(f[name], `${label}.${name}`);
    }
    const t = schema.getType(label) as GraphQLObjectType;
    assert.deepEqual(t.getInterfaces().map((i) => i.name), ["Entity"]);
  }
  const roots = fields(schema, "Query");
  assert.equal(roots.task, "Task");
  assert.equal(roots.qualityGate, "QualityGate");
  for (const root of ["iterations", "iteration", "entity", "links", "explain", "deadLetters"]) {
    assert.ok(roots[root], root);
  }
});

Deno.test("the API has a field per relationship type both ways, paged", async () => {
  const schema = apiSchema(await loadRootSpec());
  assert.equal(fields(schema, "Workflow").hasTask, "TaskConnection!");
  assert.equal(fields(schema, "Task").hasTaskFrom, "WorkflowConnection!");
  assert.equal(fields(schema, "Task").produced, "ArtifactConnection!");
  assert.equal(fields(schema, "Artifact").producedFrom, "TaskConnection!");
  assert.equal(fields(schema, "Module").hasViolation, "ViolationConnection!");
  assert.equal(fields(schema, "Violation").hasViolationFrom, "ModuleConnection!");
  assert.equal(fields(schema, "Analysis").analyzed, "ModuleConnection!");
  assert.equal(fields(schema, "Module").analyzedFrom, "AnalysisConnection!");
  const hasTask = (schema.getType("Workflow") as GraphQLObjectType).getFields().hasTask;
  assert.deepEqual(hasTask.args.map((a) => a.name), ["first", "after"]);
});

Deno.test("a spec change changes the API with no code change", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-api-spec-" });
  try {
    await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
    const file = join(dir, "pipeline.yaml");
    const text = await Deno.readTextFile(file);
    const changed = text
      .replace(
        "properties: [workflow_id, status, attempt, duration_ms, error_message]",
        "properties: [workflow_id, status, attempt, duration_ms, error_message, producer]",
      )
      .replace(
        "relationships:\n",
        `relationships:
  - type: CHECKED_GATE
    stream: dde
    when: { event_type: [QUALITY_GATE_CHECKED] }
    from: { entity: Workflow }
    to: { entity: QualityGate }
`,
      );
    assert.notEqual(changed, text);
    await Deno.writeTextFile(file, changed);
    const before = apiSchema(await loadRootSpec());
    const after = apiSchema(await loadRootSpec(file));
    assert.equal(fields(before, "Task").producer, undefined);
    assert.equal(fields(after, "Task").producer, "String");
    assert.equal(fields(after, "Workflow").checkedGate, "QualityGateConnection!");
    assert.equal(fields(after, "QualityGate").checkedGateFrom, "WorkflowConnection!");
    const types = after.getType("RelationshipType") as GraphQLEnumType;
    assert.ok(types.getValues().some((v) => v.name === "CHECKED_GATE"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("names the API uses itself are given to labels, properties and relationships with a suffix", async () => {
  const real = await loadRootSpec();
  const dde = real.streams.get("dde")!;
  const spec = {
    ...real,
    entities: [
      {
        ...real.entities[0],
        label: "Link",
        properties: [{ name: "links", field: "status" }, { name: "status", field: "status" }],
      },
      { ...real.entities[0], label: "Iteration", properties: [{ name: "__x", field: "status" }] },
    ],
    streams: new Map([["dde", dde]]),
    relationships: [{
      ...real.relationships[0],
      type: "LINKS",
      from: { label: "Link", keys: [["workflow_id"]] },
      to: { label: "Iteration", keys: [["node_id"]] },
    }],
    rules: [],
  } as unknown as CompiledSpec;
  const model = apiModel(spec);
  const link = model.byLabel.get("Link")!, iteration = model.byLabel.get("Iteration")!;
  assert.equal(link.typeName, "LinkEntity");
  assert.equal(link.rootField, "link");
  assert.equal(iteration.typeName, "IterationEntity");
  assert.equal(iteration.rootField, "iterationEntity");
  assert.deepEqual(link.properties.map((p) => p.field), ["property_links", "status"]);
  assert.deepEqual(iteration.properties.map((p) => p.field), ["property___x"]);
  assert.deepEqual(link.relationships.map((r) => r.field), ["linksRel"]);
  assert.deepEqual(iteration.relationships.map((r) => r.field), ["linksFrom"]);
  const schema = createSchema({ typeDefs: sdl(model) });
  assertValidSchema(schema);
  assert.equal(fields(schema, "LinkEntity").linksRel, "IterationEntityConnection!");
  assert.equal(fields(schema, "Query").iterationEntity, "IterationEntity");
  // A spec without relationships has no RelationshipType: relationship types are strings.
  const bare = createSchema({ typeDefs: sdl(apiModel({ ...spec, relationships: [] })) });
  assertValidSchema(bare);
  assert.equal(bare.getType("RelationshipType"), undefined);
});
