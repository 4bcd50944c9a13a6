/**
 * Shared by the Kafka integration tests: a kafkajs client, names unique per run (topics, groups,
 * subjects), small readers and writers. Every test works on its own topics and consumer groups.
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { SERVICES } from "./_services.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import type { SourceBatch } from "../../src/core/component.ts";
import type { DeadLetter, RawRecord } from "../../src/core/types.ts";
import { createKafkaSource, schema as sourceSchema } from "../../src/sources/kafka.ts";
import { ensureTopics } from "../../src/cli/topics.ts";

export const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
export const BROKERS = SERVICES.kafka.split(",");
export const root = new URL("../../", import.meta.url).pathname;
const loaded = await loadSpec(`${root}pipeline.yaml`, () => undefined);
if (!loaded.spec) throw new Error("pipeline.yaml does not load");
export const spec = loaded.spec;
export const kafka = new Kafka({
  clientId: "ics-test",
  brokers: BROKERS,
  logLevel: logLevel.NOTHING,
});
let n = 0;
export const unique = (what: string) => `${what}.${RUN}-${++n}`;
export const streamTopics = () => {
  const id = unique("t");
  return Object.fromEntries([...spec.streams.keys()].map((s) => [s, `trimodal.events.${s}.${id}`]));
};
export const ctx = (extra: Record<string, unknown> = {}) => ({
  stateDir: ".",
  specDir: root,
  log: () => {},
  ...extra,
});
export const sourceConfig = (over: Record<string, unknown>) =>
  sourceSchema.parse({ type: "kafka", brokers: BROKERS, group_id: unique("g"), ...over });

export async function withAdmin<T>(
  fn: (admin: ReturnType<Kafka["admin"]>) => Promise<T>,
): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Create topics for a test; `await using` deletes them when the test ends. */
export async function createTopics(topics: string[], partitions = 1) {
  await withAdmin((a) => ensureTopics(a, topics, { partitions }));
  return {
    [Symbol.asyncDispose]: () =>
      withAdmin((a) => a.deleteTopics({ topics, timeout: 10_000 })).catch(() => {}),
  };
}

/** Committed offsets of a group, "topic/partition" → offset ("-1": none). */
export const committed = (groupId: string, topics: string[]) =>
  withAdmin(async (a) => {
    const out: Record<string, string> = {};
    for (const t of await a.fetchOffsets({ groupId, topics })) {
      for (const p of t.partitions) out[`${t.topic}/${p.partition}`] = p.offset;
    }
    return out;
  });

/** Every committed message of a topic (read_committed, as kafkajs consumers read by default). */
export async function readAll(topic: string) {
  const consumer = kafka.consumer({ groupId: unique("reader"), maxWaitTimeInMs: 100 });
  const seen: { key: string | null; value: Uint8Array; headers: Record<string, string> }[] = [];
  let joined = false;
  let idleFetches = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => void (joined = true));
  consumer.on(consumer.events.FETCH, () => void (joined && idleFetches++));
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      idleFetches = 0;
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      seen.push({ key: message.key?.toString() ?? null, value: message.value!, headers });
      return Promise.resolve();
    },
  });
  // Done after three fetches in a row brought nothing.
  const deadline = Date.now() + 20_000;
  while (idleFetches < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await consumer.disconnect();
  return seen;
}

/** Take batches until the source ends, acknowledging each (or not). */
export async function consume(
  source: ReturnType<typeof createKafkaSource>,
  onBatch: (b: SourceBatch) => Promise<boolean | void> = (b) => b.ack().then(() => true),
  signal = new AbortController().signal,
) {
  const records: RawRecord[] = [];
  let batches = 0;
  for await (const b of source.batches(signal)) {
    batches++;
    records.push(...b.records);
    if ((await onBatch(b)) === false) break;
  }
  return { records, batches };
}

export const samples = `${root}samples/events.jsonl`;

/** Produce `count` plain Avro dde events to one topic (the source's no-registry mode). */
export async function produceDde(topic: string, count: number) {
  const type = spec.streams.get("dde")!.type;
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic,
    messages: Array.from({ length: count }, (_, i) => ({
      key: "it-1",
      value: type.toBuffer({
        event_id: `e-${i}`,
        event_type: "TASK_STARTED",
        iteration_id: "it-1",
        timestamp: 1_740_992_400_000 + i,
        producer: "dag_executor",
        workflow_id: "wf-1",
        node_id: `task-${i}`,
      }),
      headers: { "trace": `t-${i}` },
    })),
  });
  await producer.disconnect();
}

export const offsetsOf = (b: SourceBatch) =>
  b.records.map((r) => r.position.kind === "kafka" ? Number(r.position.offset) : -1);

export function letters(topic: string): DeadLetter[] {
  return [
    {
      category: "decode_error",
      reason: "value does not start with the Confluent magic byte 0 (found 123)",
      stream: "dde",
      position: { kind: "kafka", topic, partition: 0, offset: "3" },
      payload: btoa(String.fromCharCode(0, 255, 7)),
      payload_encoding: "base64",
      time: 1_740_992_400_000,
      policy: "abc123",
    },
    {
      category: "schema_violation",
      reason: 'missing required field "iteration_id"',
      position: { kind: "file", path: "/data/events.jsonl", line: 65 },
      payload: '{"event_id":"x"}',
      payload_encoding: "utf8",
      time: 1_740_992_400_001,
      policy: "abc123",
      key: "it-9",
    } as DeadLetter,
  ];
}
