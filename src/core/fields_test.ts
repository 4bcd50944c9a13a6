import assert from "node:assert/strict";
import { readField } from "./fields.ts";

Deno.test("readField() reads plain and dotted fields", () => {
  const event = { node_id: "n", metadata: { dde_node_id: "x" } };
  assert.equal(readField(event, "node_id"), "n");
  assert.equal(readField(event, "metadata.dde_node_id"), "x");
  assert.equal(readField(event, "metadata.missing"), undefined);
  assert.equal(readField(event, "node_id.deeper"), undefined);
});

Deno.test("readField() reads own entries only: an absent metadata.constructor is absent", () => {
  const event = { metadata: {} as Record<string, unknown> };
  assert.equal(readField(event, "metadata.constructor"), undefined);
  assert.equal(readField(event, "metadata.__proto__"), undefined);
  assert.equal(readField(event, "metadata.toString"), undefined);
  // A key that is really there is read, whatever its name.
  const parsed = JSON.parse('{"metadata": {"constructor": "c", "__proto__": "p"}}');
  assert.equal(readField(parsed, "metadata.constructor"), "c");
  assert.equal(readField(parsed, "metadata.__proto__"), "p");
});
