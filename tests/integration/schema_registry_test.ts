/** The schema registry client against Apicurio's Confluent API (and `schemas check` logic). */
import assert from "node:assert/strict";
import avro from "avsc";
import { SERVICES, serviceTest } from "./_services.ts";
import { RetriableError } from "../../src/core/errors.ts";
import { createRegistry, RegistryError, valueSubject } from "../../src/schema_registry/mod.ts";
import { checkSchemas } from "../../src/cli/schemas.ts";
import { spec, unique } from "./_kafka.ts";

serviceTest(
  "registry registers a schema, finds it by id and by subject, and judges compatibility",
  [
    "schema_registry",
  ],
  async () => {
    const registry = createRegistry(SERVICES.schema_registry);
    const subject = valueSubject(unique("ics.test.registry"));
    const base = JSON.parse(await Deno.readTextFile(spec.streams.get("dde")!.schemaFile));
    const id = await registry.register(subject, base);
    assert.equal(await registry.register(subject, base), id, "the same schema keeps its id");
    assert.ok(
      avro.Type.forSchema(JSON.parse(await registry.schemaById(id))).equals(
        spec.streams.get("dde")!.type,
      ),
    );
    assert.equal((await registry.latest(subject))?.version, 1);
    assert.equal(await registry.latest(valueSubject(unique("ics.test.none"))), undefined);

    const evolve = (field: Record<string, unknown>) => ({
      ...base,
      fields: [...base.fields, field],
    });
    const optional = evolve({ name: "runner", type: ["null", "string"], default: null });
    const required = evolve({ name: "runner", type: "string" });
    const retyped = {
      ...base,
      fields: base.fields.map((f: { name: string }) =>
        f.name === "attempt" ? { ...f, type: "string", default: "1" } : f
      ),
    };
    assert.deepEqual(await registry.checkCompatibility(subject, optional), {
      registered: true,
      compatible: true,
    });
    assert.equal((await registry.checkCompatibility(subject, required)).compatible, false);
    assert.equal((await registry.checkCompatibility(subject, retyped)).compatible, false);
    await assert.rejects(registry.register(subject, required), (e) => {
      assert.ok(e instanceof RegistryError);
      assert.equal(e.status, 409);
      return true;
    });
    // `schemas check` logic: one line per subject, incompatible and unregistered told apart.
    const checks = await checkSchemas(registry, [
      { stream: "dde", subject, schema: JSON.stringify(optional) },
      { stream: "bdv", subject, schema: JSON.stringify(required) },
      { stream: "acc", subject: valueSubject(unique("ics.test.none")), schema: "{}" },
    ]);
    assert.deepEqual(checks.map((c) => c.status), ["compatible", "incompatible", "not registered"]);

    const down = createRegistry("http://127.0.0.1:9/apis/ccompat/v7", { timeoutMs: 1000 });
    await assert.rejects(down.latest(subject), RetriableError);
    await deleteSubject(subject);
  },
);

/** Delete a subject for good (soft, then permanent), whatever its state. */
async function deleteSubject(subject: string) {
  const url = `${SERVICES.schema_registry}/subjects/${encodeURIComponent(subject)}`;
  for (const u of [url, `${url}?permanent=true`]) {
    await fetch(u, { method: "DELETE" }).then((r) => r.body?.cancel(), () => {});
  }
}

/** The dde schema, evolved: `fields` replaces the field list. */
async function ddeSchema(edit: (fields: { name: string }[]) => { name: string }[]) {
  const base = JSON.parse(await Deno.readTextFile(spec.streams.get("dde")!.schemaFile));
  return { ...base, fields: edit(base.fields) };
}

serviceTest(
  "registering sets FULL_TRANSITIVE: the registry refuses a schema that removes or renames a required field",
  ["schema_registry"],
  async () => {
    const registry = createRegistry(SERVICES.schema_registry);
    const subject = valueSubject(unique("ics.test.full"));
    try {
      const base = await ddeSchema((f) => f);
      await registry.register(subject, base);
      const config = await fetch(
        `${SERVICES.schema_registry}/config/${encodeURIComponent(subject)}`,
      ).then((r) => r.json());
      assert.equal(config.compatibilityLevel, "FULL_TRANSITIVE");
      // EVENTS.md: no removal of a required field (workflow_id), no rename of one.
      const removed = await ddeSchema((f) => f.filter((x) => x.name !== "workflow_id"));
      const renamed = await ddeSchema((f) =>
        f.map((x) => x.name === "workflow_id" ? { ...x, name: "dag_id" } : x)
      );
      for (const next of [removed, renamed]) {
        await assert.rejects(registry.register(subject, next), (e) => {
          assert.ok(e instanceof RegistryError);
          assert.equal(e.status, 409);
          return true;
        });
      }
      // New fields optional with defaults: accepted; the subject has two versions.
      const added = await ddeSchema((f) => [
        ...f,
        { name: "runner", type: ["null", "string"], default: null } as { name: string },
      ]);
      await registry.register(subject, added);
      assert.deepEqual((await registry.versions(subject)).map((v) => v.version), [1, 2]);
    } finally {
      await deleteSubject(subject);
    }
  },
);

serviceTest(
  "schemas check enforces the contract's rule even on a subject configured BACKWARD",
  ["schema_registry"],
  async () => {
    const registry = createRegistry(SERVICES.schema_registry);
    const subject = valueSubject(unique("ics.test.backward"));
    try {
      // A subject registered before ics set FULL_TRANSITIVE: BACKWARD accepts a removal.
      await registry.register(subject, await ddeSchema((f) => f), { compatibility: "BACKWARD" });
      const removed = await ddeSchema((f) => f.filter((x) => x.name !== "workflow_id"));
      assert.equal((await registry.checkCompatibility(subject, removed)).compatible, true);
      const optionalDropped = await ddeSchema((f) => f.filter((x) => x.name !== "node_id"));
      const required = await ddeSchema((f) => [...f, { name: "runner", type: "string" } as never]);
      const checks = await checkSchemas(registry, [
        { stream: "dde", subject, schema: JSON.stringify(removed) },
        { stream: "dde", subject, schema: JSON.stringify(optionalDropped) },
        { stream: "dde", subject, schema: JSON.stringify(required) },
      ]);
      assert.deepEqual(checks.map((c) => c.status), ["incompatible", "compatible", "incompatible"]);
      assert.match(
        checks[0].reason!,
        /^readers on version 1 cannot read events written with it \(a required field removed or renamed\): .*workflow_id/,
      );
      assert.match(checks[2].reason!, /^it cannot read events written with version 1 .*runner/);
    } finally {
      await deleteSubject(subject);
    }
  },
);
