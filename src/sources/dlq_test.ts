import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import type { DeadLetter, RawRecord } from "../core/types.ts";
import { decodeLine, fromMessage, toMessage } from "../dead_letters/mod.ts";
import { recordOf } from "./dlq.ts";

const binary = new Uint8Array([0, 0, 0, 0, 7, 2, 255]);
const letters: DeadLetter[] = [
  {
    category: "decode_error",
    key: "it-1",
    reason: "Avro body does not match writer schema id 7",
    stream: "dde",
    position: { kind: "kafka", topic: "trimodal.events.dde", partition: 2, offset: "41" },
    payload: Buffer.from(binary).toString("base64"),
    payload_encoding: "base64",
    time: 1,
    policy: "p",
    format: "avro_confluent",
    redriven: 2,
  },
  {
    category: "schema_violation",
    reason: 'missing required field "iteration_id"',
    stream: "bdv",
    position: { kind: "file", path: "/data/events.jsonl", line: 65 },
    payload: '{"event_id":"x"}',
    payload_encoding: "utf8",
    time: 2,
    policy: "p",
  },
];
const streamOf = new Map([["trimodal.events.dde", "dde"]]);

/** A Kafka dead letter as the dlq source reads it off the topic. */
function fromTopic(l: DeadLetter): RawRecord {
  const m = toMessage(l);
  return {
    ...(m.key ? { key: String(m.key) } : {}),
    value: new Uint8Array(m.value as Buffer),
    format: "avro",
    headers: m.headers as Record<string, string>,
    position: { kind: "kafka", topic: "trimodal.events.dlq", partition: 0, offset: "9" },
  };
}

Deno.test("a dead letter becomes the record its source read, from a file or a Kafka queue", () => {
  for (
    const stored of [decodeLine(JSON.stringify(letters[0]))!, fromMessage(fromTopic(letters[0]))!]
  ) {
    assert.deepEqual(recordOf(stored, streamOf, true), {
      stream: "dde",
      key: "it-1",
      value: binary,
      format: "avro_confluent",
      position: letters[0].position,
      redrive: { attempt: 3, category: "decode_error", reason: letters[0].reason },
    });
  }
  for (
    const stored of [decodeLine(JSON.stringify(letters[1]))!, fromMessage(fromTopic(letters[1]))!]
  ) {
    // JSON finds its stream by event type, as the file source leaves it.
    assert.deepEqual(recordOf(stored, streamOf, true), {
      value: new TextEncoder().encode('{"event_id":"x"}'),
      format: "json",
      position: letters[1].position,
      redrive: { attempt: 1, category: "schema_violation", reason: letters[1].reason },
    });
  }
});

Deno.test("a letter without its format gets the one its source produces", () => {
  const { format: _, ...old } = letters[0];
  const stored = decodeLine(JSON.stringify(old))!;
  assert.equal(recordOf(stored, streamOf, true).format, "avro_confluent");
  assert.equal(recordOf(stored, streamOf, false).format, "avro");
  const avroFile = { ...letters[1], position: { kind: "file", path: "/in.avro", line: 3 } };
  assert.equal(recordOf(decodeLine(JSON.stringify(avroFile))!, streamOf, true).format, "avro");
});

Deno.test("lines and records that are not dead letters are recognised as such", () => {
  assert.equal(decodeLine("{not json"), undefined);
  assert.equal(decodeLine(JSON.stringify({ ...letters[1], category: "oops" })), undefined);
  assert.equal(decodeLine(JSON.stringify({ ...letters[1], position: undefined })), undefined);
  assert.equal(fromMessage({ ...fromTopic(letters[1]), headers: {} }), undefined);
});
