import assert from "node:assert/strict";
import avro from "avsc";
import type { RawRecord } from "../core/types.ts";
import { RegistryError } from "../schema_registry/mod.ts";
import { RetriableError } from "../core/errors.ts";
import {
  type ConfluentDecoded,
  createSchemaCache,
  decodeConfluent,
  encode,
  schemaIdOf,
} from "./confluent.ts";

const DDE = new URL("../../schemas/avro/dde_event.avsc", import.meta.url);
const dde = avro.Type.forSchema(JSON.parse(await Deno.readTextFile(DDE)));

const event = {
  event_id: "e-1",
  event_type: "TASK_STARTED",
  iteration_id: "it-1",
  timestamp: 1_740_992_400_000,
  producer: "dag_executor",
  trace_id: null,
  span_id: null,
  traceparent: null,
  metadata: { branch: "main" },
  workflow_id: "wf-1",
  node_id: "build",
  status: "RUNNING",
  attempt: 1,
  duration_ms: null,
  artifact_id: null,
  artifact_path: null,
  contract_id: null,
  contract_name: null,
  contract_version: null,
  quality_gate: null,
  gate_passed: null,
  error_message: null,
};

const only = (id: number, type: avro.Type) => (n: number) => n === id ? type : undefined;

function reason(d: ConfluentDecoded): string {
  assert.equal(d.ok, false, "expected a failure");
  return (d as { reason: string }).reason;
}

Deno.test("encode() writes magic byte 0, the big-endian schema id, then the Avro body", () => {
  const bytes = encode(0x01020304, dde, event);
  assert.deepEqual([...bytes.subarray(0, 5)], [0, 1, 2, 3, 4]);
  assert.equal(schemaIdOf(bytes), 0x01020304);
  assert.deepEqual(bytes.subarray(5), new Uint8Array(dde.toBuffer(event)));
});

Deno.test("decodeConfluent() round-trips an event through the wire format", () => {
  const d = decodeConfluent(encode(7, dde, event), only(7, dde), dde);
  assert.ok(d.ok);
  assert.equal(d.schemaId, 7);
  assert.deepEqual({ ...d.event }, event);
});

Deno.test("decodeConfluent() reads a value that sits inside a larger buffer", () => {
  const inner = encode(7, dde, event);
  const outer = new Uint8Array(inner.length + 20);
  outer.set(inner, 10);
  const d = decodeConfluent(outer.subarray(10, 10 + inner.length), only(7, dde));
  assert.ok(d.ok);
  assert.equal(d.event.node_id, "build");
});

Deno.test("decodeConfluent() rejects a value without the magic byte", () => {
  const json = new TextEncoder().encode(JSON.stringify(event));
  assert.match(reason(decodeConfluent(json, only(7, dde))), /magic byte 0 \(found 123\)/);
});

Deno.test("decodeConfluent() rejects a value shorter than the 5-byte header", () => {
  assert.match(reason(decodeConfluent(new Uint8Array([0, 0, 1]), only(7, dde))), /too short/);
  assert.match(reason(decodeConfluent(new Uint8Array(), only(7, dde))), /0 bytes is too short/);
});

Deno.test("decodeConfluent() rejects a schema id the registry does not know", () => {
  assert.equal(
    reason(decodeConfluent(encode(99, dde, event), only(7, dde))),
    "schema id 99 is unknown to the registry",
  );
});

Deno.test("decodeConfluent() rejects a truncated or garbage Avro body", () => {
  const bytes = encode(7, dde, event);
  assert.match(
    reason(decodeConfluent(bytes.subarray(0, bytes.length - 4), only(7, dde))),
    /Avro body does not match writer schema id 7/,
  );
  const garbage = new Uint8Array([0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.match(reason(decodeConfluent(garbage, only(7, dde))), /does not match writer schema/);
  // Trailing bytes after a complete body are an error too (a wrong schema id would read short).
  const longer = new Uint8Array([...bytes, 1, 2, 3]);
  assert.match(reason(decodeConfluent(longer, only(7, dde))), /trailing/);
});

/** The dde schema plus one optional field, as a newer producer would write it. */
function withExtraField(): avro.Type {
  const schema = JSON.parse(Deno.readTextFileSync(DDE));
  schema.fields.push({ name: "runner_host", type: ["null", "string"], default: null });
  return avro.Type.forSchema(schema);
}

Deno.test("decodeConfluent() resolves an older writer against a newer reader (added optional field)", () => {
  const reader = withExtraField();
  const d = decodeConfluent(encode(1, dde, event), only(1, dde), reader);
  assert.ok(d.ok);
  assert.equal(d.event.runner_host, null, "the reader's default fills the new field");
  assert.equal(d.event.node_id, "build");
});

Deno.test("decodeConfluent() resolves a newer writer against an older reader (extra field skipped)", () => {
  const writer = withExtraField();
  const bytes = encode(2, writer, { ...event, runner_host: "ci-7" });
  const d = decodeConfluent(bytes, only(2, writer), dde);
  assert.ok(d.ok);
  assert.equal("runner_host" in d.event, false);
  assert.deepEqual({ ...d.event }, event);
});

Deno.test("decodeConfluent() reports a writer schema the reader cannot resolve", () => {
  const other = avro.Type.forSchema({
    type: "record",
    name: "DdeEvent",
    namespace: "trimodal.events.dde",
    fields: [{ name: "event_id", type: "int" }],
  });
  const bytes = encode(3, other, { event_id: 5 });
  const d = decodeConfluent(bytes, only(3, other), dde);
  assert.match(reason(d), /cannot be read as/);
  // Well-formed bytes of a schema that breaks the stream's contract: not a decoding failure.
  assert.equal(!d.ok && d.category, "schema_violation");
});

function rec(value: Uint8Array): RawRecord {
  return {
    value,
    format: "avro_confluent",
    position: { kind: "kafka", topic: "t", partition: 0, offset: "0" },
  };
}

Deno.test("SchemaCache.prefetch() asks the registry once per unknown id and caches it", async () => {
  const asked: number[] = [];
  const text = JSON.stringify(dde.schema());
  const cache = createSchemaCache({
    schemaById: (id) => {
      asked.push(id);
      if (id === 404) return Promise.reject(new RegistryError("no such id", 404, 40403));
      return Promise.resolve(text);
    },
  });
  const batch = [encode(1, dde, event), encode(1, dde, event), encode(2, dde, event)].map(rec);
  batch.push(rec(encode(404, dde, event)), rec(new Uint8Array([1, 2])));
  await cache.prefetch(batch);
  assert.deepEqual(asked.sort(), [1, 2, 404]);
  await cache.prefetch(batch.slice(0, 3));
  assert.deepEqual(asked.length, 3, "cached ids are not fetched again");
  assert.ok(cache.get(1));
  assert.equal(cache.get(404), undefined);
  assert.ok(decodeConfluent(batch[2].value, cache.get, dde).ok);
});

Deno.test("SchemaCache.prefetch() rejects when the registry is unreachable", async () => {
  const cache = createSchemaCache({
    schemaById: () => Promise.reject(new RetriableError("registry down")),
  });
  await assert.rejects(cache.prefetch([rec(encode(1, dde, event))]), RetriableError);
});
