import assert from "node:assert/strict";
import type { RawRecord } from "../core/types.ts";
import { loadSpec } from "../compiler/mod.ts";
import { createDecoder, type Decoded } from "./mod.ts";

const PIPELINE = new URL("../../pipeline.yaml", import.meta.url).pathname;
const { spec } = await loadSpec(PIPELINE, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");

const NOW = 1_700_000_000_000;
const decode = createDecoder(spec, () => NOW);
const encoder = new TextEncoder();

const task = {
  event_id: "e-1",
  event_type: "TASK_STARTED",
  iteration_id: "it-1",
  timestamp: NOW - 60_000,
  producer: "dag_executor",
  workflow_id: "wf-1",
  node_id: "build",
  status: "RUNNING",
};

function record(value: Uint8Array | string | object, extra: Partial<RawRecord> = {}): RawRecord {
  const bytes = value instanceof Uint8Array
    ? value
    : encoder.encode(typeof value === "string" ? value : JSON.stringify(value));
  return {
    value: bytes,
    format: "json",
    position: { kind: "file", path: "events.jsonl", line: 1 },
    ...extra,
  };
}

function failure(decoded: Decoded) {
  assert.equal(decoded.ok, false, "expected a failure");
  return decoded as Extract<Decoded, { ok: false }>;
}

function assertFails(
  value: Uint8Array | string | object,
  category: string,
  reason: string | RegExp,
) {
  const f = failure(decode(record(value)));
  assert.equal(f.category, category);
  if (typeof reason === "string") assert.equal(f.reason, reason);
  else assert.match(f.reason, reason);
  return f;
}

Deno.test("decoder passes a valid JSON event with the schema's defaults filled in", () => {
  const decoded = decode(record(task));
  assert.equal(decoded.ok, true);
  if (!decoded.ok) return;
  assert.equal(decoded.stream, "dde");
  assert.equal(decoded.event.node_id, "build");
  assert.equal(decoded.event.timestamp, NOW - 60_000);
  assert.deepEqual(decoded.event.metadata, {});
  assert.equal(decoded.event.attempt, 1);
  assert.equal(decoded.event.artifact_path, null);
});

Deno.test("decoder fills tags [] for a bdv event and finds its stream from event_type", () => {
  const decoded = decode(record({
    event_id: "b-1",
    event_type: "SCENARIO_PASSED",
    iteration_id: "it-1",
    timestamp: NOW,
    producer: "bdv_runner",
    test_run_id: "run-1",
    scenario_id: "s-1",
  }));
  assert.equal(decoded.ok, true);
  if (!decoded.ok) return;
  assert.equal(decoded.stream, "bdv");
  assert.deepEqual(decoded.event.tags, []);
  assert.deepEqual(decoded.event.metadata, {});
});

Deno.test("decoder rejects invalid UTF-8 as a decode_error", () => {
  assertFails(
    new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    "decode_error",
    "payload is not valid UTF-8",
  );
});

Deno.test("decoder rejects invalid JSON as a decode_error", () => {
  assertFails('{"event_id": "e-1",', "decode_error", /^payload is not valid JSON: /);
});

Deno.test("decoder rejects a JSON array as a decode_error", () => {
  assertFails("[1, 2]", "decode_error", "payload is not a JSON object");
  assertFails("null", "decode_error", "payload is not a JSON object");
});

Deno.test("decoder rejects an unknown event_type as a schema_violation", () => {
  assertFails(
    { ...task, event_type: "TASK_EXPLODED" },
    "schema_violation",
    'event_type "TASK_EXPLODED" is not an event type of any stream',
  );
  assertFails(
    { ...task, event_type: undefined },
    "schema_violation",
    'missing required field "event_type"',
  );
});

Deno.test("decoder names every missing required field", () => {
  assertFails(
    { ...task, producer: undefined },
    "schema_violation",
    'missing required field "producer"',
  );
  const f = assertFails(
    { event_type: "TASK_STARTED", iteration_id: "it-1" },
    "schema_violation",
    'missing required fields "event_id", "timestamp", "producer", "workflow_id"',
  );
  assert.equal(f.stream, "dde");
});

Deno.test("decoder rejects a value outside an enum and lists the symbols", () => {
  assertFails(
    { ...task, status: "DONE" },
    "schema_violation",
    'field "status" has value "DONE", expected one of PENDING, RUNNING, SUCCEEDED, FAILED, ' +
      "RETRYING, SKIPPED",
  );
});

Deno.test("decoder rejects a field of the wrong type", () => {
  assertFails(
    { ...task, timestamp: "yesterday" },
    "schema_violation",
    'field "timestamp" has value "yesterday", expected long',
  );
  assertFails(
    { ...task, metadata: { run: 7 } },
    "schema_violation",
    'field "metadata.run" has value 7, expected string',
  );
});

Deno.test("decoder quotes a number as the input spelled it, not as JSON.parse rounded it", () => {
  const json = (fields: string) =>
    JSON.stringify(task).replace(/"timestamp":\d+/, fields.replace(/^,/, ""));
  // 2^53 + 1 parses as 2^53: the reason must not show a number that is not in the input.
  assertFails(
    json('"timestamp":9007199254740993'),
    "schema_violation",
    'field "timestamp" has value 9007199254740993, expected long',
  );
  assertFails(
    json('"timestamp":1740992400000,"metadata":{"run":12345678901234567890}'),
    "schema_violation",
    'field "metadata.run" has value 12345678901234567890, expected string',
  );
  assertFails(
    json('"timestamp":1e400'),
    "schema_violation",
    'field "timestamp" has value 1e400, expected long',
  );
  assertFails(
    JSON.stringify(task).replace('"TASK_STARTED"', "18446744073709551617"),
    "schema_violation",
    'field "event_type" has value 18446744073709551617, expected a string',
  );
});

Deno.test("decoder rejects a payload over max_event_bytes before parsing it", () => {
  assert.equal(spec.spec.validation.max_event_bytes, 1_048_576);
  const big = { ...task, error_message: "x".repeat(1_048_576) };
  assertFails(
    big,
    "schema_violation",
    /^payload of \d+ bytes exceeds max_event_bytes \(1048576\)$/,
  );
  // Size is checked first: even bytes that are not JSON are a schema_violation when too large.
  assertFails("{".repeat(1_048_577), "schema_violation", /exceeds max_event_bytes/);
});

Deno.test("decoder rejects a timestamp in seconds as before min_timestamp", () => {
  assertFails(
    { ...task, timestamp: 1_700_000_000 },
    "schema_violation",
    "timestamp 1700000000 is before min_timestamp 946684800000 (seconds instead of milliseconds?)",
  );
});

Deno.test("decoder rejects a timestamp too far in the future and accepts one just inside", () => {
  const limit = NOW + 86_400_000;
  assertFails(
    { ...task, timestamp: limit + 1 },
    "schema_violation",
    `timestamp ${limit + 1} is more than 86400 s in the future`,
  );
  assert.equal(decode(record({ ...task, timestamp: limit })).ok, true);
});

Deno.test("decoder rejects an empty iteration_id", () => {
  assertFails({ ...task, iteration_id: "" }, "schema_violation", 'field "iteration_id" is empty');
  assertFails({ ...task, iteration_id: "  " }, "schema_violation", 'field "iteration_id" is empty');
});

Deno.test("decoder rejects control characters in event_id", () => {
  assertFails(
    { ...task, event_id: "e-1\u0000" },
    "schema_violation",
    'field "event_id" contains control characters',
  );
  assertFails(
    { ...task, event_id: "e\n1" },
    "schema_violation",
    'field "event_id" contains control characters',
  );
});

function avroBody(): Uint8Array {
  const decoded = decode(record(task));
  assert.ok(decoded.ok);
  return new Uint8Array(spec!.streams.get("dde")!.type.toBuffer(decoded.event));
}

Deno.test("decoder decodes an Avro binary body of a known stream", () => {
  const decoded = decode(record(avroBody(), { format: "avro", stream: "dde" }));
  assert.equal(decoded.ok, true);
  if (!decoded.ok) return;
  assert.equal(decoded.stream, "dde");
  assert.equal(decoded.event.event_type, "TASK_STARTED");
  assert.equal(decoded.event.node_id, "build");
  assert.equal(decoded.event.timestamp, NOW - 60_000);
  assert.equal(decoded.event.attempt, 1);
  assert.deepEqual(decoded.event.metadata, {});
});

Deno.test("decoder rejects a truncated Avro body as a decode_error", () => {
  const body = avroBody();
  const f = failure(decode(record(body.slice(0, 10), { format: "avro", stream: "dde" })));
  assert.equal(f.category, "decode_error");
  assert.equal(f.stream, "dde");
  assert.match(f.reason, /^Avro body does not match schema trimodal\.events\.dde\.DdeEvent: /);
});

Deno.test("decoder rejects an Avro body without a known stream as a decode_error", () => {
  const f = failure(decode(record(avroBody(), { format: "avro" })));
  assert.equal(f.category, "decode_error");
  assert.equal(f.reason, "binary record without a known stream");
});

Deno.test("decoder applies the plausibility checks to Avro events too", () => {
  const decoded = decode(record(task));
  assert.ok(decoded.ok);
  const type = spec.streams.get("dde")!.type;
  const body = type.toBuffer({ ...decoded.event, timestamp: 1_700_000_000 });
  const f = failure(decode(record(new Uint8Array(body), { format: "avro", stream: "dde" })));
  assert.equal(f.category, "schema_violation");
  assert.match(f.reason, /before min_timestamp/);
});

Deno.test("decoder rejects an event_type that is not a string, saying what it is", () => {
  assertFails(
    { ...task, event_type: 7 },
    "schema_violation",
    'field "event_type" has value 7, expected a string',
  );
});

Deno.test("decoder rejects control characters in every field that forms an entity key", () => {
  assertFails(
    { ...task, node_id: "build\u0007" },
    "schema_violation",
    'field "node_id" contains control characters',
  );
  assertFails(
    { ...task, workflow_id: "wf\u0085" }, // C1 "next line"
    "schema_violation",
    'field "workflow_id" contains control characters',
  );
  // A list key (acc's cycle) is checked element by element.
  const cycle = {
    event_id: "a-1",
    event_type: "CYCLE_DETECTED",
    iteration_id: "it-1",
    timestamp: NOW,
    producer: "import_graph_builder",
    analysis_id: "an-1",
    cycle: ["a.b", "b\ta"],
  };
  assertFails(cycle, "schema_violation", 'field "cycle" contains control characters');
  // Free text may hold them: a multi-line error message is an error message.
  assert.equal(decode(record({ ...task, error_message: "line 1\nline 2\t\u0000" })).ok, true);
});

Deno.test("decoder refuses path fields that leave the repository or are absolute", () => {
  const artifact = {
    ...task,
    event_type: "ARTIFACT_CREATED",
    artifact_id: "a-1",
    artifact_path: "src/api/user_service.py",
  };
  assert.equal(decode(record(artifact)).ok, true);
  const bad: [string, string][] = [
    ["../../etc/passwd", 'it has a ".." segment'],
    ["src/../../secrets.py", 'it has a ".." segment'],
    ["src\\..\\..\\x.py", 'it has a ".." segment'],
    ["/etc/passwd", "it is absolute"],
    ["\\\\server\\share\\x.py", "it is absolute"],
    ["C:\\repo\\x.py", "it is absolute"],
  ];
  for (const [path, why] of bad) {
    assertFails(
      { ...artifact, artifact_path: path },
      "schema_violation",
      `field "artifact_path" is not a repo-relative path: ${why}`,
    );
  }
  // A path that is not a key (acc's module_path) is checked for control characters too.
  assertFails(
    {
      event_id: "a-2",
      event_type: "MODULE_ANALYZED",
      iteration_id: "it-1",
      timestamp: NOW,
      producer: "import_graph_builder",
      analysis_id: "an-1",
      module_name: "api.x",
      module_path: "src/api/x\r.py",
    },
    "schema_violation",
    'field "module_path" is not a repo-relative path: it contains control characters',
  );
  // Unusual but repo-relative: kept (the file path rules normalise ./, // and \).
  for (const path of ["./src//api\\x.py", 'src/it\'s "quoted".py', "src/..hidden/x.py", "a..b"]) {
    assert.equal(decode(record({ ...artifact, artifact_path: path })).ok, true, path);
  }
});

Deno.test("decoder bounds the metadata map by max_metadata_entries", () => {
  assert.equal(spec.spec.validation.max_metadata_entries, 1000);
  const metadata = (n: number) =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, "v"]));
  assert.equal(decode(record({ ...task, metadata: metadata(1000) })).ok, true);
  assertFails(
    { ...task, metadata: metadata(1001) },
    "schema_violation",
    "metadata has 1001 entries, more than max_metadata_entries (1000)",
  );
});

Deno.test("decoder rejects an Avro string that is not valid UTF-8, but keeps a real U+FFFD", () => {
  const decoded = decode(record(task));
  assert.ok(decoded.ok);
  const type = spec.streams.get("dde")!.type;
  const body = new Uint8Array(type.toBuffer({ ...decoded.event, node_id: "bXild" }));
  body[body.indexOf(0x58)] = 0xff; // "X" → a byte that never occurs in UTF-8
  const f = failure(decode(record(body, { format: "avro", stream: "dde" })));
  assert.equal(f.category, "decode_error");
  assert.equal(f.reason, "Avro body holds a string that is not valid UTF-8");
  const real = type.toBuffer({ ...decoded.event, node_id: "b\ufffdild" });
  const ok = decode(record(new Uint8Array(real), { format: "avro", stream: "dde" }));
  assert.ok(ok.ok);
  assert.equal(ok.event.node_id, "b\ufffdild");
});

Deno.test("decoder escapes control characters in a reason that quotes the input", () => {
  const f = assertFails(
    new Uint8Array([0, 0, 0, 0, 7, 0x1b, 0x5b, 0x32, 0x4a]),
    "decode_error",
    /^payload is not valid JSON: /,
  );
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(f.reason, /[\u0000-\u001f]/);
  assert.match(f.reason, /\\u001b\[2J/);
  const t = assertFails(
    { ...task, event_type: "X\u001b[2J" },
    "schema_violation",
    /is not an event/,
  );
  assert.equal(t.reason, 'event_type "X\\u001b[2J" is not an event type of any stream');
});

Deno.test("decoder bounds ids by max_id_bytes, counting UTF-8 bytes", () => {
  assert.equal(spec.spec.validation.max_id_bytes, 512);
  assert.equal(decode(record({ ...task, node_id: "é".repeat(256) })).ok, true);
  assertFails(
    { ...task, node_id: "é".repeat(256) + "x" },
    "schema_violation",
    'field "node_id" is 513 bytes long, more than max_id_bytes (512)',
  );
  assertFails(
    { ...task, event_id: "x".repeat(600) },
    "schema_violation",
    'field "event_id" is 600 bytes long, more than max_id_bytes (512)',
  );
  // Free text is not an id.
  assert.equal(decode(record({ ...task, error_message: "x".repeat(10_000) })).ok, true);
});
