import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadSpec } from "../compiler/mod.ts";
import { iterationsInMemory } from "./_correlation.ts";

const PIPELINE = fileURLToPath(new URL("../../pipeline.yaml", import.meta.url));

Deno.test("iterationsInMemory() takes a target's runtime override, else the spec's runtime", async () => {
  const { spec } = await loadSpec(PIPELINE);
  assert.ok(spec);
  assert.equal(spec.spec.runtime.max_iterations_in_memory, 128);
  assert.equal(spec.spec.targets.local.runtime?.max_iterations_in_memory, 32);
  assert.equal(iterationsInMemory(spec, "local"), 32);
  assert.equal(iterationsInMemory(spec, "services"), 128);
  assert.equal(iterationsInMemory(spec), 128);
  assert.equal(iterationsInMemory(spec, "constructor"), 128); // own targets only
});
