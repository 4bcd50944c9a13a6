/**
 * The Kafka source's runtime batches at a live rate (issue #11), against the running broker:
 * records are produced at RATE records/s for SECONDS, spread over 3 topics × PARTITIONS
 * partitions, and the source hands them over to a simulated sink that takes WRITE_MS per batch
 * before acknowledging it (the graph store's commit). Printed per mode: send → hand-over latency
 * p50/p95/p99, batches/s, mean batch size and partitions per batch.
 *
 * Modes, in the same run (fresh topics and group each): `gather` (max_wait_ms, default 100, all
 * partitions consumed at once) and `old` (max_wait_ms 0, partitions_consumed_concurrently 4: one
 * partition per batch, the broker answering as soon as anything is there, as before #11).
 *
 *   deno task bench:batching [RATE=1000] [SECONDS=20] [PARTITIONS=12] [WRITE_MS=10]
 *   MAX_WAIT_MS=100 MODES=gather,old to change the new mode's wait or run one mode;
 *   ROW_US=100 adds a per-record cost to the sink (the graph store's ~0.1 ms per version);
 *   MAX_BATCH_RECORDS (default 5000) is the gathering mode's max_batch_records.
 *
 * The producer runs in the same process (as `ics produce` would not): its cost is on both modes.
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import { ensureTopics } from "../src/cli/topics.ts";
import { createKafkaSource, schema } from "../src/sources/kafka.ts";

const rate = Number(Deno.args[0] ?? 1000);
const seconds = Number(Deno.args[1] ?? 20);
const partitions = Number(Deno.args[2] ?? 12);
const writeMs = Number(Deno.args[3] ?? 10);
const maxWaitMs = Number(Deno.env.get("MAX_WAIT_MS") ?? 100);
const modes = (Deno.env.get("MODES") ?? "gather,old").split(",");
const rowUs = Number(Deno.env.get("ROW_US") ?? 0);
const maxRecords = Number(Deno.env.get("MAX_BATCH_RECORDS") ?? 5000);
const brokers = (Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092").split(",");
const VALUE_BYTES = 150; // about a bundled event in Avro
const run = `bb-${Date.now().toString(36)}`;
const kafka = new Kafka({ clientId: "ics-bench-batching", brokers, logLevel: logLevel.NOTHING });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  latencies: number[];
  /** Simulated sink time per batch. */
  writes: number[];
  batches: number;
  records: number;
  parts: number;
  ms: number;
  sent: number;
}

/** Produce at `rate` for `seconds`: every 10 ms, what is due, round robin over the partitions. */
async function produce(topics: string[]): Promise<number> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const pad = "x".repeat(VALUE_BYTES - 14);
  const start = performance.now();
  let sent = 0;
  for (let elapsed = 0; elapsed < seconds * 1000; elapsed = performance.now() - start) {
    const due = Math.floor((rate * elapsed) / 1000) - sent;
    if (due > 0) {
      const byTopic = new Map<string, { partition: number; value: string }[]>();
      for (let i = 0; i < due; i++) {
        const n = sent + i;
        const topic = topics[n % topics.length];
        const list = byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!;
        list.push({
          partition: Math.floor(n / topics.length) % partitions,
          value: `${Date.now()};${pad}`,
        });
      }
      sent += due;
      await producer.sendBatch({
        acks: 1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
    await sleep(10);
  }
  await producer.disconnect();
  return sent;
}

async function measure(mode: string): Promise<Result> {
  const topics = ["dde", "bdv", "acc"].map((s) => `ics.bench.batching.${s}.${run}.${mode}`);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, { partitions });
  let joined!: () => void;
  const join = new Promise<void>((r) => joined = r);
  const source = createKafkaSource(
    schema.parse({
      type: "kafka",
      brokers,
      group_id: `${run}-${mode}`,
      topics,
      ...(mode === "old" ? { max_wait_ms: 0, partitions_consumed_concurrently: 4 } : {
        max_wait_ms: maxWaitMs,
        max_batch_records: maxRecords,
      }),
    }),
    {
      stateDir: ".",
      specDir: ".",
      log: (_level, m) => void (m.includes("joined group") && joined()),
    },
  );
  const r: Result = {
    latencies: [],
    writes: [],
    batches: 0,
    records: 0,
    parts: 0,
    ms: 0,
    sent: Infinity,
  };
  const stop = new AbortController();
  const decoder = new TextDecoder();
  const consuming = (async () => {
    for await (const b of source.batches(stop.signal)) {
      const now = Date.now();
      const parts = new Set<string>();
      for (const rec of b.records) {
        const text = decoder.decode(rec.value.subarray(0, 14));
        r.latencies.push(now - Number(text.slice(0, text.indexOf(";"))));
        if (rec.position.kind === "kafka") {
          parts.add(`${rec.position.topic}/${rec.position.partition}`);
        }
      }
      r.batches++;
      r.records += b.records.length;
      r.parts += parts.size;
      const write = writeMs + (b.records.length * rowUs) / 1000;
      r.writes.push(write);
      await sleep(write);
      await b.ack();
      if (r.records >= r.sent) stop.abort();
    }
  })();
  await join;
  const started = performance.now();
  r.sent = await produce(topics);
  r.ms = performance.now() - started;
  if (r.records >= r.sent) stop.abort();
  const deadline = setTimeout(() => stop.abort(), 30_000);
  await consuming;
  clearTimeout(deadline);
  await source.close();
  await admin.deleteTopics({ topics, timeout: 10_000 }).catch(() => {});
  await admin.disconnect();
  return r;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");

console.log(
  `bench:batching: ${rate} records/s for ${seconds} s over 3 topics × ${partitions} partitions, ` +
    `sink ${writeMs} ms per batch + ${rowUs} µs per record, ${VALUE_BYTES} B values ` +
    `(load ${load()})`,
);
console.log(
  "mode                      p50 ms  p95 ms  p99 ms  batches/s  records/batch  partitions/batch",
);
for (const mode of modes) {
  const r = await measure(mode);
  const sorted = r.latencies.sort((a, b) => a - b);
  const label = mode === "old" ? "old (max_wait_ms 0)" : `gather (${maxWaitMs} ms, ${maxRecords})`;
  console.log(
    [
      label.padEnd(24),
      pct(sorted, 50).toFixed(0).padStart(7),
      pct(sorted, 95).toFixed(0).padStart(7),
      pct(sorted, 99).toFixed(0).padStart(7),
      (r.batches / (r.ms / 1000)).toFixed(1).padStart(10),
      (r.records / r.batches).toFixed(1).padStart(14),
      (r.parts / r.batches).toFixed(1).padStart(17),
      pct(r.writes.sort((a, b) => a - b), 95).toFixed(0).padStart(12),
    ].join(" ") + (r.records < r.sent ? `  (only ${r.records} of ${r.sent} handed over)` : ""),
  );
}
console.log(`load ${load()}`);
