/**
 * A target accepts every component registered for its roles, and only those: the spec's `type:`
 * unions are built from the registries (adding a component to its registry is all it takes), and
 * the JSON Schema editors use lists the same types.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { copy } from "../../tests/_copy.ts";
import { targetSources } from "../sources/mod.ts";
import { dedupStores } from "../dedup/mod.ts";
import { deadLetterQueues, graphStores, metricsStores } from "../sinks/mod.ts";
import { formatErrors, loadSpec } from "./mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

const ROLES: Record<string, Record<string, unknown>> = {
  source: targetSources,
  dedup: dedupStores,
  graph: graphStores,
  metrics: metricsStores,
  dlq: deadLetterQueues,
};

/** Fields a component's config requires besides `type:` (the others have defaults). */
const REQUIRED: Record<string, Record<string, unknown>> = {
  "source.file": { path: "events.jsonl" },
};

/** The shipped spec with the given targets instead of its own, loaded from a copy. */
async function withTargets(targets: Record<string, unknown>) {
  const dir = await Deno.makeTempDir({ prefix: "ics-components-" });
  try {
    await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
    const spec = parse(await Deno.readTextFile(join(dir, "pipeline.yaml")));
    spec.targets = targets;
    spec.default_target = Object.keys(targets)[0];
    await Deno.writeTextFile(join(dir, "pipeline.yaml"), stringify(spec));
    return await loadSpec(join(dir, "pipeline.yaml"), () => undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a target accepts every registered component of each role", async () => {
  const base = parse(await Deno.readTextFile(join(ROOT, "pipeline.yaml"))).targets.local;
  const targets: Record<string, unknown> = {};
  for (const [role, registry] of Object.entries(ROLES)) {
    for (const type of Object.keys(registry)) {
      targets[`${role}-${type}`] = { ...base, [role]: { type, ...REQUIRED[`${role}.${type}`] } };
    }
  }
  const { spec, errors } = await withTargets(targets);
  assert.equal(formatErrors(errors), "");
  for (const [name, target] of Object.entries(spec!.spec.targets)) {
    const [role, type] = name.split("-");
    assert.equal((target[role as keyof typeof target] as { type: string }).type, type);
  }
});

Deno.test("a target refuses the dead-letter source, which only `dlq redrive` uses", async () => {
  const base = parse(await Deno.readTextFile(join(ROOT, "pipeline.yaml"))).targets.local;
  const { errors } = await withTargets({ local: { ...base, source: { type: "dlq" } } });
  assert.equal(errors.length, 1);
  assert.equal(errors[0].path, "targets.local.source.type");
});

Deno.test("the JSON Schema lists every registered component type of each role", async () => {
  const schema = JSON.parse(await Deno.readTextFile(join(ROOT, "schemas", "pipeline.schema.json")));
  const roles = schema.properties.targets.additionalProperties.properties;
  for (const [role, registry] of Object.entries(ROLES)) {
    const types = roles[role].oneOf.map((o: { properties: { type: { const: string } } }) =>
      o.properties.type.const
    );
    assert.deepEqual(types, Object.keys(registry), role);
  }
});
