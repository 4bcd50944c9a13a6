import assert from "node:assert/strict";
import type { RawRecord } from "../core/types.ts";
import {
  type DeadLetter,
  deadLetter,
  decodeLine,
  encodeLine,
  fromMessage,
  HEADERS,
  inRequests,
  letterId,
  type LetterMessage,
  messageBytes,
  payloadBytes,
  type ReadMessage,
  toMessage,
} from "./mod.ts";

const records: RawRecord[] = [
  {
    stream: "dde",
    key: "it-1",
    value: new Uint8Array([0, 0, 0, 0, 7, 2, 255]),
    format: "avro_confluent",
    position: { kind: "kafka", topic: "trimodal.events.dde", partition: 2, offset: "41" },
    redrive: { attempt: 2, category: "decode_error", reason: "no such schema id" },
  },
  {
    value: new TextEncoder().encode('{"event_id":"x","name":"ünïcode ✓"}'),
    format: "json",
    position: { kind: "file", path: "/data/events.jsonl", line: 65 },
  },
  // JSON that is not UTF-8 (kept as base64), and Avro bytes that happen to be text (still base64).
  {
    value: new Uint8Array([123, 34, 0xc3, 0x28, 125]),
    format: "json",
    position: { kind: "file", path: "/data/events.jsonl", line: 66 },
  },
  {
    stream: "acc",
    value: new TextEncoder().encode("plain"),
    format: "avro",
    position: { kind: "file", path: "/data/acc.avro", line: 3 },
  },
];

const letters: DeadLetter[] = [
  deadLetter(records[0], "decode_error", "unknown schema id 7", { policy: "p", time: 1 }),
  deadLetter(records[1], "schema_violation", 'missing field "iteration_id"', {
    stream: "bdv",
    policy: "p",
    time: 2,
  }),
  deadLetter(records[2], "decode_error", "not UTF-8", { policy: "p", time: 3 }),
  { ...deadLetter(records[3], "sink_error", "refused", { policy: "q", time: 4 }), attempts: 5 },
];

/** A message as the Kafka source reads it off the topic: key text, value bytes, header text. */
const read = (m: LetterMessage): ReadMessage => ({
  ...(m.key !== null ? { key: m.key } : {}),
  value: new Uint8Array(m.value),
  headers: m.headers,
});

Deno.test("a dead letter keeps its record's bytes exactly, as text when they are JSON text", () => {
  assert.deepEqual(letters.map((l) => l.payload_encoding), ["base64", "utf8", "base64", "base64"]);
  letters.forEach((l, i) => assert.deepEqual(payloadBytes(l), records[i].value));
  assert.equal(letters[0].redriven, 2);
  assert.equal(letters[1].payload, '{"event_id":"x","name":"ünïcode ✓"}');
});

Deno.test("a dead letter survives the round trip through a JSON Lines line", () => {
  for (const l of letters) {
    const line = encodeLine(l);
    assert.ok(line.endsWith("\n") && !line.slice(0, -1).includes("\n"), "one line");
    assert.deepEqual(decodeLine(line), l);
  }
});

Deno.test("a dead letter survives the round trip through a Kafka message with headers", () => {
  for (const l of letters) {
    const m = toMessage(l);
    assert.deepEqual(new Uint8Array(m.value), payloadBytes(l), "the value is the original bytes");
    assert.equal(m.headers[HEADERS.category], l.category);
    assert.deepEqual(fromMessage(read(m)), l);
  }
  assert.equal(toMessage(letters[0]).key, "it-1");
  assert.equal(toMessage(letters[1]).key, null);
  assert.deepEqual(toMessage(letters[0]).headers, {
    "ics.category": "decode_error",
    "ics.reason": "unknown schema id 7",
    "ics.policy": "p",
    "ics.time": "1",
    "ics.format": "avro_confluent",
    "ics.redriven": "2",
    "ics.source.topic": "trimodal.events.dde",
    "ics.source.partition": "2",
    "ics.source.offset": "41",
  });
});

Deno.test("the same record dead-lettered again is the same letter, whenever; redriven, it is new", () => {
  const again = deadLetter(records[1], "schema_violation", "other words", { policy: "r" });
  assert.equal(letterId(again), letterId(letters[1]));
  assert.equal(letterId(decodeLine(encodeLine(letters[1]))!), letterId(letters[1]));
  assert.notEqual(letterId({ ...letters[1], redriven: 1 }), letterId(letters[1]));
  assert.notEqual(letterId(letters[2]), letterId(letters[1]));
});

Deno.test("lines and messages that hold no dead letter are told apart", () => {
  assert.equal(decodeLine("{not json"), undefined);
  assert.equal(decodeLine(JSON.stringify({ ...letters[1], category: "oops" })), undefined);
  assert.equal(decodeLine(JSON.stringify({ ...letters[1], position: undefined })), undefined);
  assert.equal(fromMessage({ value: new Uint8Array(), headers: {} }), undefined);
  // A letter of an older version, with fields missing, still reads.
  const { time: _t, policy: _p, format: _f, ...old } = letters[1];
  assert.deepEqual(decodeLine(JSON.stringify(old)), { ...old, time: 0, policy: "" });
});

Deno.test("a burst of letters is split into requests under the size limit, in order", () => {
  const burst = Array.from({ length: 5000 }, (_, i) =>
    deadLetter(
      { ...records[1], value: new TextEncoder().encode(`poison ${i}`) },
      "decode_error",
      "not a JSON object",
      { policy: "p", time: i },
    ));
  const limit = 100_000;
  const requests = inRequests(burst, limit);
  assert.ok(requests.length > 5, `${requests.length} requests`);
  for (const r of requests) {
    assert.ok(61 + r.reduce((n, m) => n + messageBytes(m), 0) <= limit);
  }
  assert.deepEqual(requests.flat(), burst.map(toMessage));
  assert.deepEqual(inRequests([], limit), []);
});

Deno.test("a letter larger than any request keeps the start of its payload and says so", () => {
  const huge = new Uint8Array(2 * 1024 * 1024).fill(120);
  const record = { ...records[0], value: huge, format: "json" as const };
  const letter = deadLetter(record, "schema_violation", "event larger than 1048576 bytes", {
    policy: "p",
    time: 5,
  });
  const limit = 1_048_588;
  const [[small], [big]] = inRequests([letters[1], letter], limit);
  assert.deepEqual(small, toMessage(letters[1]));
  assert.ok(61 + messageBytes(big) <= limit, `${messageBytes(big)} bytes`);
  assert.ok(big.value.length > limit - 1000, `${big.value.length} bytes kept`);
  assert.deepEqual(new Uint8Array(big.value), huge.subarray(0, big.value.length));
  assert.equal(big.headers[HEADERS.truncated], String(huge.length));
  assert.equal(
    big.headers[HEADERS.reason],
    `event larger than 1048576 bytes [payload truncated to ${big.value.length} of ${huge.length} ` +
      `bytes: the dead-letter topic takes messages of at most ${limit} bytes; the whole record ` +
      "is at trimodal.events.dde/2@41]",
  );
  const back = fromMessage(read(big))!;
  assert.equal(back.truncated, huge.length);
  assert.equal(back.category, "schema_violation");
  assert.deepEqual(back.position, letter.position);
});
