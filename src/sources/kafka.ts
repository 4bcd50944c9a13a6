/**
 * Kafka source: a consumer group (kafkajs) read in batches, committed only after the sinks.
 *
 * kafkajs pushes (`eachBatch`, one per partition of a fetch, run concurrently); the runtime pulls
 * (`batches()`). Between them, the records of all partitions are gathered into runtime batches
 * that close at `max_batch_records` or `max_wait_ms` after their first record (`_gather.ts`), and
 * are handed over in a rendezvous only when the runtime asks for the next one; each `eachBatch`
 * waits, heartbeating, until the runtime acknowledged the batches holding its records before
 * `resolveOffset` and returning. So a slow sink stops fetching (backpressure) and nothing is
 * fetched past what may be committed. The broker does the waiting for records (`_kafka_fetch.ts`).
 *
 * `ack()` commits the batch's positions (per partition: last offset + 1) with one
 * `consumer.commitOffsets`.
 * `ack({ committed: true })` only releases the batch: its `offsets` (the same positions) were
 * committed by a transaction (the Kafka dead-letter queue's `writeAndCommit`). A batch whose
 * partition was revoked (rebalance, a heartbeat failing, kafkajs `isStale()`) is never committed:
 * its `offsets.topics` is emptied and its ack commits nothing; the new owner reads it again.
 *
 * Scale-out: the group's partitions are assigned co-partitioned (`_copartition.ts`: partition p
 * of every topic to one member), so each iteration has exactly one owner; the topics must have
 * the same partition count or the source refuses to start. In a rebalance a member first lets the
 * runtime write and commit the batches it holds, then rejoins (`_kafka_batches.ts`); batches carry
 * the assignment epoch so the runtime drops per-iteration state that may have gone stale.
 *
 * Values are Confluent wire format (`avro_confluent`) when `schema_registry` is set, plain Avro
 * bodies of the stream's `.avsc` otherwise (`avro`). Writer schemas are fetched before a batch is
 * handed over (see `src/codecs/confluent.ts`); `writerSchema(id)` serves them to the decoder.
 * The stream of a record is the stream whose topic it came from (`streamTopics` in the context).
 * `from` in the context (`ics replay`) starts every partition at the earliest offset or at a time
 * instead of the group's committed offsets (see `_kafka_start.ts`).
 * @module
 */
import { z } from "zod";
import type { Admin, Consumer } from "kafkajs";
import type { ComponentDef, Context, Source, SourceBatch } from "../core/component.ts";
import type { RawRecord } from "../core/types.ts";
import { UserError } from "../core/errors.ts";
import { connectionFields, createKafka, type Kafka, kafkaError } from "../kafka/mod.ts";
import { createRegistry, valueSubject } from "../schema_registry/mod.ts";
import { createSchemaCache, type WriterSchemas } from "../codecs/confluent.ts";
import { handoff } from "./_handoff.ts";
import { type Drain, planDrain } from "./_kafka_drain.ts";
import { createBatcher } from "./_kafka_batches.ts";
import { fetchParams } from "./_kafka_fetch.ts";
import { seeks, type StartOffsets, startOffsets, whileTransient } from "./_kafka_start.ts";
import { coPartitionedAssigner, partitionCountMismatch } from "./_copartition.ts";
import type { Telemetry } from "../telemetry/mod.ts";

export const schema = z.strictObject({
  type: z.literal("kafka"),
  ...connectionFields,
  group_id: z.string().min(1).default("ics").describe(
    "Consumer group; offsets are kept per group.",
  ),
  topics: z.array(z.string().min(1)).min(1).optional().describe(
    "Topics to consume; default: the topic of every stream. A topic's stream is the stream naming it.",
  ),
  from_beginning: z.boolean().default(true).describe(
    "Where a group without committed offsets starts: the oldest record (true) or new ones only.",
  ),
  schema_registry: z.string().regex(/^https?:\/\//, "must be an http(s) URL").optional().describe(
    "Confluent-API schema registry URL: values are Confluent wire format. Absent: plain Avro bodies.",
  ),
  max_batch_records: z.number().int().min(1).max(100_000).default(5000).describe(
    "Most records in one runtime batch (records of every partition the member owns).",
  ),
  max_wait_ms: z.number().int().min(0).max(10_000).default(100).describe(
    "Longest a runtime batch gathers after its first record before it is handed over, if it " +
      "did not fill first; also the broker's fetch wait. 0: no gathering, one partition per batch.",
  ),
  session_timeout_ms: z.number().int().min(6000).max(300_000).default(30_000).describe(
    "Group session timeout; heartbeats go every tenth of it, also while sinks are slow.",
  ),
  partitions_consumed_concurrently: z.number().int().min(1).max(1024).optional().describe(
    "Partitions whose fetched records may be gathered at once (order is kept per partition); " +
      "default: all partitions of the topics, so that one batch can gather them all.",
  ),
  rebalance_timeout_ms: z.number().int().min(6000).max(600_000).default(60_000).describe(
    "How long the group waits for its members to rejoin in a rebalance; a member finishes the " +
      "batches it holds first, within this time.",
  ),
}).describe("Consume events from Kafka topics as a consumer group.");

export type KafkaSourceConfig = z.infer<typeof schema>;

/** What the runtime adds to the context: each stream's topic (stream name → topic). */
export interface KafkaSourceExtra {
  streamTopics?: Record<string, string>;
  /** Where the consumer lag per partition is reported (`ics_consumer_lag`). */
  telemetry?: Pick<Telemetry, "setLag">;
}

export interface KafkaSource extends Source {
  /** Writer schema of a registry id, for decoding `avro_confluent` records (prefetched). */
  writerSchema?: WriterSchemas;
}

export type { AckOptions } from "./_kafka_batches.ts";

export const kafka: ComponentDef<typeof schema, KafkaSource, KafkaSourceExtra> = {
  type: "kafka",
  schema,
  create: (config, ctx) => Promise.resolve(createKafkaSource(config, ctx)),
};

export function createKafkaSource(
  config: KafkaSourceConfig,
  ctx: Context & KafkaSourceExtra,
): KafkaSource {
  let kafka: Promise<Kafka> | undefined;
  const client = () => kafka ??= createKafka(config, ctx.log);
  const streamOf = new Map(Object.entries(ctx.streamTopics ?? {}).map(([s, t]) => [t, s]));
  const topics = config.topics ?? [...streamOf.keys()];
  if (topics.length === 0) {
    throw new UserError("kafka source has no topics: set topics, or give the streams topics");
  }
  const registry = config.schema_registry ? createRegistry(config.schema_registry) : undefined;
  const schemas = registry ? createSchemaCache(registry) : undefined;
  const format: RawRecord["format"] = registry ? "avro_confluent" : "avro";
  const beatMs = Math.max(1000, Math.floor(config.session_timeout_ms / 10));
  const hand = handoff<SourceBatch>();
  let consumer: Consumer | undefined;
  let admin: Admin | undefined;
  let drain: Drain | undefined;
  let from: StartOffsets | undefined;
  const batcher = createBatcher({
    lag: (topic, partition, lag) => ctx.telemetry?.setLag(topic, partition, lag),
    group: config.group_id,
    maxRecords: config.max_batch_records,
    maxWaitMs: config.max_wait_ms,
    beatMs,
    hand,
    drain: () => drain,
    from: (topic, partition) => from?.get(`${topic}/${partition}`),
    schemas,
    format,
    streamOf,
    log: ctx.log,
    commit: (positions) => consumer!.commitOffsets(positions),
    // The coordinator's clock started up to a heartbeat before this member noticed.
    revokeWaitMs: Math.max(1000, config.rebalance_timeout_ms - 2 * beatMs),
  });
  let watching: ReturnType<typeof setTimeout> | undefined;

  async function ensureTopics(a: Admin) {
    const existing = new Set(await a.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length) {
      throw new UserError(
        `kafka topic${missing.length > 1 ? "s" : ""} ${
          missing.map((t) => `"${t}"`).join(", ")
        } not found on ${config.brokers.join(",")} (create them with: ics topics)`,
      );
    }
  }

  /** Refuse topics that cannot be co-partitioned (see `_copartition.ts`); their partitions. */
  async function ensureCoPartitioned(a: Admin): Promise<number> {
    const meta = await a.fetchTopicMetadata({ topics });
    const counts = new Map(meta.topics.map((t) => [t.name, t.partitions.length]));
    const mismatch = partitionCountMismatch(
      Object.fromEntries(topics.map((t) => [t, counts.get(t) ?? 0])),
    );
    if (mismatch) {
      throw new UserError(
        `kafka: ${mismatch}; recreate them with one partition count (ics topics --partitions N)`,
      );
    }
    return topics.reduce((n, t) => n + (counts.get(t) ?? 0), 0);
  }

  /** Draining: stop once the group (every member) committed what was there at the start. */
  function watchGroup() {
    watching = setTimeout(async () => {
      await drain!.refresh().catch(() => {}); // transient: the next round asks again
      if (drain!.done()) hand.close();
      else if (!hand.closed) watchGroup();
    }, 1000);
  }

  async function start(signal: AbortSignal): Promise<boolean> {
    admin = (await client()).admin();
    await admin.connect();
    await ensureTopics(admin);
    if (ctx.from !== undefined) from = await startOffsets(admin, topics, ctx.from);
    const partitions = await ensureCoPartitioned(admin);
    if (ctx.drain) {
      const a = admin;
      drain = await whileTransient(() =>
        planDrain(a, config.group_id, topics, config.from_beginning, from)
      );
      ctx.log("info", `kafka: draining ${drain.remaining()} records from ${topics.join(", ")}`);
      if (drain.done()) return false;
      watchGroup();
    }
    if (signal.aborted) return false;
    const c = consumer = (await client()).consumer({
      groupId: config.group_id,
      sessionTimeout: config.session_timeout_ms,
      rebalanceTimeout: config.rebalance_timeout_ms,
      heartbeatInterval: beatMs,
      // Partition p of every topic to one member: an iteration's events meet in one process.
      partitionAssigners: [await coPartitionedAssigner()],
      allowAutoTopicCreation: false,
      // The broker waits for about a batch, at most max_wait_ms (kafkajs's 5 s long poll would
      // also hold close() that long).
      ...fetchParams(config.max_batch_records, config.max_wait_ms),
    });
    c.on(c.events.CRASH, ({ payload }) => {
      if (!payload.restart) hand.fail(kafkaError("kafka consumer stopped", payload.error));
    });
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      batcher.reassigned(payload.memberAssignment);
      const mine = Object.entries(payload.memberAssignment).map(([t, ps]) =>
        `${t} [${[...ps].sort((a, b) => a - b).join(",")}]`
      );
      ctx.log(
        "info",
        `kafka: joined group ${config.group_id}: ${mine.join(", ") || "no partitions"}`,
      );
    });
    // Fetches made only of transaction markers or aborted records never reach eachBatch.
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      if (!drain || payload.batchSize > 0) return;
      drain.advance(payload.topic, payload.partition, BigInt(payload.lastOffset) + 1n);
      if (drain.done()) hand.close();
    });
    await c.connect();
    await c.subscribe({ topics, fromBeginning: config.from_beginning });
    const running = c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      // kafkajs hands a fetch's partitions to this many eachBatch at once and fetches again only
      // once they all returned: fewer than the partitions would gather a batch from some of them
      // and wait for it before the others are even looked at. Idle ones cost nothing.
      partitionsConsumedConcurrently: config.partitions_consumed_concurrently ?? partitions,
      eachBatch: batcher.eachBatch,
    });
    // Seeks given before the group is joined are applied at the first fetch (kafkajs keeps them).
    for (const seek of seeks(from ?? new Map())) c.seek(seek);
    await running;
    return true;
  }

  return {
    writerSchema: schemas?.get,
    async *batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      const stop = () => hand.close();
      signal.addEventListener("abort", stop, { once: true });
      try {
        const started = await start(signal).catch((error) => {
          throw error instanceof UserError ? error : kafkaError("kafka source", error);
        });
        if (!started) return;
        for (let b = await hand.take(); b; b = await hand.take()) yield b;
      } finally {
        clearTimeout(watching);
        signal.removeEventListener("abort", stop);
        hand.close();
        // Stop fetching; batches already handed over can still be acknowledged until close().
        // (kafkajs throws when the consumer never got to run: nothing to pause then.)
        try {
          consumer?.pause(topics.map((topic) => ({ topic })));
        } catch { /* not running */ }
      }
    },
    async check() {
      let a: Admin | undefined;
      try {
        a = (await client()).admin();
        await a.connect();
        await ensureTopics(a);
        await ensureCoPartitioned(a);
        if (registry) await registry.latest(valueSubject(topics[0]));
      } catch (error) {
        throw error instanceof UserError ? error : kafkaError("kafka source check", error);
      } finally {
        await a?.disconnect().catch(() => {});
      }
    },
    async close() {
      clearTimeout(watching);
      hand.close();
      batcher.releaseAll();
      await consumer?.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
    },
  };
}
