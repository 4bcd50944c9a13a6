/**
 * Raw rates of the Kafka parts, against the running services (`deno task services:up`):
 *
 * 1. produce: generated corpus events → `produce()` (decode, validate, Confluent-encode,
 *    idempotent producer) into fresh stream topics;
 * 2. source: the Kafka source with `drain`, every batch acknowledged at once (a commit per batch),
 *    nothing decoded: the ceiling the pipeline's consumption can reach;
 * 3. bare kafkajs: a plain consumer (`eachBatch`, auto-resolve, no commits) over the same topics;
 * 4. decode: the Confluent decode of every consumed value (in memory, writer = reader schema).
 *
 *   deno run -A bench/kafka_source.ts [EVENTS=200000] [PARTITIONS=3]
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { Buffer } from "node:buffer";
import { partitioner } from "../src/kafka/mod.ts";
import { corpus, eventsPerIteration } from "./corpus.ts";
import { loadSpec } from "../src/compiler/mod.ts";
import { createRegistry } from "../src/schema_registry/mod.ts";
import { deleteSubjects } from "./_services_setup.ts";
import { produce } from "../src/cli/produce.ts";
import { ensureTopics } from "../src/cli/topics.ts";
import { createKafkaSource, schema } from "../src/sources/kafka.ts";
import { decodeConfluent } from "../src/codecs/confluent.ts";
import type { RawRecord } from "../src/core/types.ts";

const events = Number(Deno.args[0] ?? 200_000);
const partitions = Number(Deno.args[1] ?? 3);
const brokers = (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(",");
const registryUrl = Deno.env.get("SCHEMA_REGISTRY_URL") ?? "http://127.0.0.1:8081/apis/ccompat/v7";
const root = new URL("..", import.meta.url).pathname;
const { spec } = await loadSpec(`${root}pipeline.yaml`, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");
const run = `bench-${Date.now().toString(36)}`;
const streamTopics = Object.fromEntries(
  [...spec.streams.keys()].map((s) => [s, `trimodal.events.${s}.${run}`]),
);
const topics = Object.values(streamTopics);
const kafka = new Kafka({ clientId: "ics-bench", brokers, logLevel: logLevel.ERROR });
const rate = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString("en");

const admin = kafka.admin();
await admin.connect();
const bareTopic = `ics.bench.bare.${run}`;
await ensureTopics(admin, [...topics, bareTopic], { partitions });

// 1. produce (the corpus is generated first: its generation is not produce's cost)
const encoder = new TextEncoder();
const generated: { line: number; bytes: Uint8Array }[] = [];
for (const e of corpus({ iterations: Math.ceil(events / eventsPerIteration()) + 1 })) {
  if (generated.length >= events) break;
  generated.push({ line: generated.length + 1, bytes: encoder.encode(JSON.stringify(e)) });
}
async function* lines() {
  yield* generated;
}
const produced = await produce({
  spec,
  kafka,
  registry: createRegistry(registryUrl),
  streamTopics,
  lines: lines(),
  onInvalid: (line, reason) => console.error(`line ${line}: ${reason}`),
});
const total = Object.values(produced.perTopic).reduce((a, b) => a + b, 0);
console.log(
  `produce      ${total} events in ${(produced.elapsed_ms / 1000).toFixed(2)} s: ` +
    `${rate(total, produced.elapsed_ms)} events/s (${partitions} partitions per topic)`,
);

// 1b. a bare kafkajs producer, same count, same batch size, values of the mean size
const meanBytes = Math.round(
  generated.reduce((n, l) => n + l.bytes.length, 0) / generated.length / 2, // Avro is about half the JSON size
);
const bareProducer = kafka.producer({
  idempotent: true,
  createPartitioner: await partitioner(),
});
await bareProducer.connect();
const filler = Buffer.alloc(meanBytes, 1);
let started = performance.now();
for (let sent = 0; sent < total; sent += 5000) {
  const messages = Array.from({ length: Math.min(5000, total - sent) }, (_, i) => ({
    key: `it-${i % 97}`,
    value: filler,
  }));
  await bareProducer.sendBatch({ acks: -1, topicMessages: [{ topic: bareTopic, messages }] });
}
const bareProduceMs = performance.now() - started;
await bareProducer.disconnect();
console.log(
  `bare produce ${total} messages of ${meanBytes} B: ${rate(total, bareProduceMs)} messages/s ` +
    `(produce/bare = ${(bareProduceMs / produced.elapsed_ms).toFixed(2)})`,
);

// 2. the source, drained
const source = createKafkaSource(
  schema.parse({
    type: "kafka",
    brokers,
    group_id: `${run}-source`,
    schema_registry: registryUrl,
    ...(Deno.env.get("PARTITIONS_CONCURRENTLY")
      ? { partitions_consumed_concurrently: Number(Deno.env.get("PARTITIONS_CONCURRENTLY")) }
      : {}), // default: all partitions
  }),
  { stateDir: ".", specDir: root, log: () => {}, drain: true, streamTopics },
);
let consumed = 0, batches = 0;
const values: RawRecord[] = [];
started = performance.now();
for await (const b of source.batches(new AbortController().signal)) {
  consumed += b.records.length;
  batches++;
  values.push(...b.records);
  await b.ack();
}
const sourceMs = performance.now() - started;
await source.close();
console.log(
  `source       ${consumed} records in ${(sourceMs / 1000).toFixed(2)} s: ` +
    `${rate(consumed, sourceMs)} records/s (drain, ${batches} batches, a commit per batch)`,
);

// 3. bare kafkajs consumer
const bare = kafka.consumer({ groupId: `${run}-bare`, maxWaitTimeInMs: 500 });
await bare.connect();
await bare.subscribe({ topics, fromBeginning: true });
let bareCount = 0;
started = performance.now();
const done = new Promise<void>((resolve) => {
  bare.run({
    eachBatch: ({ batch }) => {
      bareCount += batch.messages.length;
      if (bareCount >= total) resolve();
      return Promise.resolve();
    },
  });
});
await done;
const bareMs = performance.now() - started;
await bare.disconnect();
console.log(
  `bare kafkajs ${bareCount} records in ${(bareMs / 1000).toFixed(2)} s: ` +
    `${rate(bareCount, bareMs)} records/s (source/bare = ${(bareMs / sourceMs).toFixed(2)})`,
);

// 4. Confluent decode of what the source read
const writer = (source.writerSchema)!;
started = performance.now();
let bad = 0;
for (const r of values) {
  if (!decodeConfluent(r.value, writer, spec.streams.get(r.stream!)!.type).ok) bad++;
}
const decodeMs = performance.now() - started;
console.log(
  `decode       ${values.length} values: ${rate(values.length, decodeMs)} values/s (${bad} failed)`,
);

await admin.deleteTopics({ topics: [...topics, bareTopic] }).catch(() => {});
await deleteSubjects([...topics, bareTopic]); // produce() registered them
await admin.disconnect();
