/**
 * The Kafka source against a real broker (and registry): `ics produce` logic, drain, commits only
 * on acknowledgement, rebalances, and release after a transactional commit.
 */
import assert from "node:assert/strict";
import { SERVICES, serviceTest } from "./_services.ts";
import type { SourceBatch } from "../../src/core/component.ts";
import { createRegistry } from "../../src/schema_registry/mod.ts";
import { decodeConfluent } from "../../src/codecs/confluent.ts";
import { createKafkaSource } from "../../src/sources/kafka.ts";
import { UserError } from "../../src/core/errors.ts";
import { createTelemetry } from "../../src/telemetry/mod.ts";
import { createKafkaDlq, schema as dlqSchema } from "../../src/sinks/kafka_dlq.ts";
import { produce } from "../../src/cli/produce.ts";
import { localSchemas } from "../../src/cli/schemas.ts";
import { fileLines } from "../../src/cli/_kafka.ts";
import {
  BROKERS,
  committed,
  consume,
  createTopics,
  ctx,
  kafka,
  letters,
  offsetsOf,
  produceDde,
  readAll,
  samples,
  sourceConfig,
  spec,
  streamTopics,
  unique,
  withAdmin,
} from "./_kafka.ts";

serviceTest(
  "produce publishes the samples as Avro and the source drains each record exactly once",
  [
    "kafka",
    "schema_registry",
  ],
  async () => {
    const topics = streamTopics();
    await using _topics = await createTopics(Object.values(topics), 3);
    const registry = createRegistry(SERVICES.schema_registry);
    const invalid: number[] = [];
    const report = await produce({
      spec,
      kafka,
      registry,
      streamTopics: topics,
      lines: fileLines(samples),
      batch: 100,
      onInvalid: (line) => invalid.push(line),
    });
    // The five broken sample lines (one is not UTF-8) are reported and skipped; the rest go to their stream's topic.
    assert.deepEqual(invalid, [24, 49, 130, 136, 281]);
    assert.deepEqual(report.perTopic, { [topics.dde]: 124, [topics.bdv]: 187, [topics.acc]: 35 });
    for (const s of await localSchemas(spec, topics)) {
      assert.ok(await registry.latest(s.subject), `${s.subject} is registered`);
    }

    const config = sourceConfig({
      schema_registry: SERVICES.schema_registry,
      max_batch_records: 50,
    });
    const telemetry = createTelemetry();
    const source = createKafkaSource(config, ctx({ drain: true, streamTopics: topics, telemetry }));
    try {
      await source.check();
      const { records, batches } = await consume(source);
      assert.equal(records.length, 346);
      // Consumer lag is reported per fetched batch; drained, every partition is caught up.
      assert.equal(telemetry.lag(), 0);
      assert.ok(batches >= 346 / 50, `batches of at most 50 records (${batches})`);
      const positions = new Set<string>();
      const ids: string[] = [];
      for (const r of records) {
        assert.equal(r.format, "avro_confluent");
        assert.equal(r.position.kind, "kafka");
        if (r.position.kind !== "kafka") continue;
        assert.equal(r.position.topic, topics[r.stream!], "stream follows the topic");
        positions.add(`${r.position.topic}/${r.position.partition}/${r.position.offset}`);
        const d = decodeConfluent(r.value, source.writerSchema!, spec.streams.get(r.stream!)!.type);
        assert.ok(d.ok, d.ok ? "" : d.reason);
        assert.equal(r.key, d.event.iteration_id, "keyed by iteration_id");
        ids.push(`${r.stream}:${d.event.event_id}:${d.event.timestamp}`);
      }
      assert.equal(positions.size, 346, "no record twice");
      const expected: string[] = [];
      for await (const { bytes } of fileLines(samples)) {
        try {
          const e = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
          const stream = spec.streamOfEventType.get(e.event_type);
          if (stream && e.iteration_id && typeof e.timestamp === "number") {
            expected.push(`${stream}:${e.event_id}:${e.timestamp}`);
          }
        } catch { /* broken line */ }
      }
      assert.deepEqual(ids.sort(), expected.sort());
      // The group's committed offsets are the high watermarks (empty partitions: none committed).
      const highs = await withAdmin(async (a) => {
        const out: Record<string, string> = {};
        for (const t of Object.values(topics)) {
          for (const p of await a.fetchTopicOffsets(t)) {
            out[`${t}/${p.partition}`] = p.high === "0" ? "-1" : p.high;
          }
        }
        return out;
      });
      assert.deepEqual(await committed(config.group_id, Object.values(topics)), highs);
    } finally {
      await source.close();
    }
    // A second drain in the same group finds nothing left and ends at once.
    const again = createKafkaSource(config, ctx({ drain: true, streamTopics: topics }));
    try {
      assert.equal((await consume(again)).records.length, 0);
    } finally {
      await again.close();
    }
  },
);

serviceTest("the source commits offsets only when a batch is acknowledged", ["kafka"], async () => {
  const topic = unique("ics.test.ack");
  await using _topics = await createTopics([topic]);
  await produceDde(topic, 30);
  const config = sourceConfig({ topics: [topic], max_batch_records: 10 });
  const firstBatch = async (ack: boolean) => {
    const source = createKafkaSource(config, ctx({ streamTopics: { dde: topic } }));
    try {
      let first: SourceBatch | undefined;
      await consume(source, async (b) => {
        first = { ...b, offsets: structuredClone(b.offsets) };
        if (ack) await b.ack();
        return false;
      });
      return first!;
    } finally {
      await source.close();
    }
  };
  const unacked = await firstBatch(false);
  assert.deepEqual(offsetsOf(unacked), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(unacked.records[0].stream, "dde");
  assert.equal(unacked.records[0].format, "avro", "no registry: plain Avro bodies");
  assert.deepEqual(unacked.records[0].headers, { trace: "t-0" });
  assert.deepEqual(unacked.offsets, {
    group: config.group_id,
    topics: [{ topic, partitions: [{ partition: 0, offset: "10" }] }],
  });
  assert.deepEqual(await committed(config.group_id, [topic]), { [`${topic}/0`]: "-1" });
  // Not acknowledged: a restarted consumer in the same group gets the same batch again.
  assert.deepEqual(offsetsOf(await firstBatch(true)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(await committed(config.group_id, [topic]), { [`${topic}/0`]: "10" });
  // Acknowledged: the next consumer starts after it.
  assert.deepEqual(offsetsOf(await firstBatch(false)), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
});

serviceTest("a batch committed by the DLQ transaction is released by ack({ committed: true })", [
  "kafka",
], async () => {
  const topic = unique("ics.test.tx");
  const dlqTopic = unique("ics.test.dlq");
  await using _topics = await createTopics([topic, dlqTopic]);
  await produceDde(topic, 25);
  const config = sourceConfig({ topics: [topic], max_batch_records: 10 });
  const source = createKafkaSource(config, ctx({ drain: true, streamTopics: { dde: topic } }));
  const dlq = createKafkaDlq(dlqSchema.parse({ type: "kafka", brokers: BROKERS, topic: dlqTopic }));
  try {
    const { records, batches } = await consume(source, async (b) => {
      const dead = letters(topic).slice(0, b.records.length === 5 ? 1 : 0);
      await dlq.writeAndCommit!(dead, b.offsets!);
      await (b.ack as (o: { committed: boolean }) => Promise<void>)({ committed: true });
    });
    assert.equal(records.length, 25);
    assert.equal(batches, 3);
  } finally {
    await source.close();
    await dlq.close();
  }
  assert.deepEqual(await committed(config.group_id, [topic]), { [`${topic}/0`]: "25" });
  assert.equal((await readAll(dlqTopic)).length, 1);
});

serviceTest(
  "a rebalance waits for the batch in flight, which is committed before the partition moves",
  [
    "kafka",
  ],
  async () => {
    const topic = unique("ics.test.rebalance");
    await using _topics = await createTopics([topic]);
    await produceDde(topic, 20);
    const config = sourceConfig({
      topics: [topic],
      max_batch_records: 10,
      session_timeout_ms: 6000,
    });
    const extra = ctx({ streamTopics: { dde: topic } });
    const a = createKafkaSource(config, extra);
    const b = createKafkaSource(config, extra);
    try {
      const itA = a.batches(new AbortController().signal)[Symbol.asyncIterator]();
      const held = (await itA.next()).value as SourceBatch;
      assert.deepEqual(offsetsOf(held), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // A second member joins while the first still holds the batch: the group cannot finish
      // rebalancing before the first rejoins, and it rejoins only once the batch is acknowledged.
      const itB = b.batches(new AbortController().signal)[Symbol.asyncIterator]();
      let bGot = false;
      const nextB = itB.next().then((r) => (bGot = true, r));
      await new Promise((r) => setTimeout(r, 3000)); // several heartbeats: A knows of the rebalance
      assert.equal(bGot, false, "the partition does not move while its batch is in flight");
      assert.equal(held.offsets!.topics.length, 1, "the batch still carries its offsets");
      await held.ack();
      assert.deepEqual(await committed(config.group_id, [topic]), { [`${topic}/0`]: "10" });
      // Whichever member owns the partition now goes on after the committed batch.
      const next = await Promise.race([nextB, itA.next()]);
      assert.deepEqual(offsetsOf(next.value as SourceBatch), [
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
        19,
      ]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  },
);

serviceTest("a batch held past the rebalance timeout is not committed", ["kafka"], async () => {
  const topic = unique("ics.test.revoked");
  await using _topics = await createTopics([topic]);
  await produceDde(topic, 20);
  const config = sourceConfig({
    topics: [topic],
    max_batch_records: 10,
    session_timeout_ms: 6000,
    rebalance_timeout_ms: 6000,
  });
  const extra = ctx({ streamTopics: { dde: topic } });
  const a = createKafkaSource(config, extra);
  const b = createKafkaSource(config, extra);
  try {
    const itA = a.batches(new AbortController().signal)[Symbol.asyncIterator]();
    const held = (await itA.next()).value as SourceBatch;
    assert.deepEqual(offsetsOf(held), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The first member waits for the batch only as long as the group waits for it; then the
    // batch goes stale and the partition moves on without its commit.
    const itB = b.batches(new AbortController().signal)[Symbol.asyncIterator]();
    const nextB = itB.next();
    const deadline = Date.now() + 30_000;
    while (held.offsets!.topics.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(held.offsets!.topics, [], "a revoked batch carries no offsets to commit");
    await held.ack();
    assert.deepEqual(await committed(config.group_id, [topic]), { [`${topic}/0`]: "-1" });
    // Whichever member owns the partition now reads it again from the start.
    const again = await Promise.race([nextB, itA.next()]);
    assert.deepEqual(offsetsOf(again.value as SourceBatch), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

serviceTest("topics with different partition counts are refused before consuming", [
  "kafka",
], async () => {
  const topics = streamTopics();
  await using _a = await createTopics([topics.dde, topics.bdv], 4);
  await using _b = await createTopics([topics.acc], 3);
  const config = sourceConfig({});
  const source = createKafkaSource(config, ctx({ streamTopics: topics }));
  try {
    // One clear line naming every topic and its count; nothing is consumed.
    const message = new RegExp(
      `same partition count .*: ${topics.dde} has 4, ${topics.bdv} has 4, ${topics.acc} has 3; `,
    );
    await assert.rejects(
      source.check(),
      (e: Error) => e instanceof UserError && message.test(e.message),
    );
    await assert.rejects(
      consume(source),
      (e: Error) => e instanceof UserError && message.test(e.message),
    );
    assert.deepEqual(
      Object.values(await committed(config.group_id, Object.values(topics))).filter((o) =>
        o !== "-1"
      ),
      [],
    );
  } finally {
    await source.close();
  }
});
