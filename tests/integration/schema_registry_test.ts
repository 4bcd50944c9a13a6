/** The schema registry client against Apicurio's Confluent API (and `schemas check` logic). */
import assert from "node:assert/strict";
import avro from "avsc";
import { SERVICES, serviceTest } from "./_services.ts";
import { RetriableError } from "../../src/core/errors.ts";
import { createRegistry, RegistryError, valueSubject } from "../../src/registry/mod.ts";
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
  },
);
