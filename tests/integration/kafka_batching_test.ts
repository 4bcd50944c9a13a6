/**
 * Runtime batches of the Kafka source against the real broker (issue #11): under a slow trickle a
 * batch closes before it is full with records of several partitions; in a backlog batches reach
 * `max_batch_records`; after a restart every partition resumes exactly past the acknowledged
 * batches (none lost, none read twice). No timing is asserted: only what the batches hold.
 */
import assert from "node:assert/strict";
import { serviceTest } from "./_services.ts";
import type { SourceBatch } from "../../src/core/component.ts";
import type { RawRecord } from "../../src/core/types.ts";
import { createKafkaSource } from "../../src/sources/kafka.ts";
import { committed, consume, createTopics, ctx, kafka, sourceConfig, unique } from "./_kafka.ts";

const PARTITIONS = 4;
const topicsOf = () => ["a", "b", "c"].map((t) => unique(`ics.batching.${t}`));
const partOf = (r: RawRecord) =>
  r.position.kind === "kafka" ? `${r.position.topic}/${r.position.partition}` : "?";
const offsetOf = (r: RawRecord) => r.position.kind === "kafka" ? Number(r.position.offset) : -1;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `perPartition` records into every partition of every topic, in one send per topic. */
async function backlog(topics: string[], perPartition: number) {
  const producer = kafka.producer();
  await producer.connect();
  for (const topic of topics) {
    const messages = [];
    for (let p = 0; p < PARTITIONS; p++) {
      for (let i = 0; i < perPartition; i++) {
        messages.push({ partition: p, value: `${p}:${i}` });
      }
    }
    await producer.send({ topic, messages });
  }
  await producer.disconnect();
}

serviceTest(
  "kafka batching: a slow trickle makes batches of several partitions that close before full",
  ["kafka"],
  async () => {
    const topics = topicsOf();
    await using _t = await createTopics(topics, PARTITIONS);
    let joined!: () => void;
    const join = new Promise<void>((r) => joined = r);
    const log = (_: string, m: string) => void (m.includes("joined group") && joined());
    const source = createKafkaSource(
      sourceConfig({ topics, max_batch_records: 5000, max_wait_ms: 300 }),
      ctx({ log }),
    );
    const total = 60;
    const batches: RawRecord[][] = [];
    const taking = consume(source, async (b: SourceBatch) => {
      batches.push(b.records);
      await b.ack();
      return batches.flat().length < total;
    });
    try {
      await join;
      // One record every 20 ms, round robin over the 12 partitions: ~50 records/s.
      const producer = kafka.producer();
      await producer.connect();
      for (let i = 0; i < total; i++) {
        const n = i % (topics.length * PARTITIONS);
        await producer.send({
          topic: topics[n % topics.length],
          messages: [{ partition: Math.floor(n / topics.length), value: String(i) }],
        });
        await sleep(20);
      }
      await producer.disconnect();
      await taking;
    } finally {
      await source.close();
    }
    if (Deno.env.get("DEBUG_BATCHES")) console.log(batches.map((b) => b.length));
    assert.equal(batches.flat().length, total);
    const sizes = batches.map((b) => b.length);
    const parts = batches.map((b) => new Set(b.map(partOf)).size);
    // Batches closed on time (none is full) and gathered: fewer batches than records, and one
    // batch at least holds records of several partitions (of several topics, too).
    assert.ok(sizes.every((n) => n < 5000));
    assert.ok(batches.length < total / 2, `${batches.length} batches of ${sizes.join(",")}`);
    assert.ok(Math.max(...parts) >= 3, `partitions per batch: ${parts.join(",")}`);
  },
);

serviceTest(
  "kafka batching: a backlog makes batches of max_batch_records",
  ["kafka"],
  async () => {
    const topics = topicsOf();
    await using _t = await createTopics(topics, PARTITIONS);
    await backlog(topics, 1000); // 12,000 records
    const source = createKafkaSource(
      sourceConfig({ topics, max_batch_records: 2000, max_wait_ms: 200 }),
      ctx({ drain: true }),
    );
    const sizes: number[] = [];
    const seen = new Set<string>();
    try {
      await consume(source, async (b) => {
        sizes.push(b.records.length);
        for (const r of b.records) seen.add(`${partOf(r)}@${offsetOf(r)}`);
        await b.ack();
      });
    } finally {
      await source.close();
    }
    assert.equal(seen.size, 12_000, "every record once");
    assert.equal(sizes.reduce((a, b) => a + b, 0), 12_000);
    assert.ok(sizes.every((n) => n <= 2000));
    const full = sizes.filter((n) => n === 2000).length;
    assert.ok(full >= sizes.length / 2, `batch sizes: ${sizes.join(",")}`);
  },
);

serviceTest(
  "kafka batching: after a restart every partition resumes exactly past the acknowledged batches",
  ["kafka"],
  async () => {
    const topics = topicsOf();
    await using _t = await createTopics(topics, PARTITIONS);
    await backlog(topics, 50); // 600 records
    const group = unique("g");
    const config = sourceConfig({ topics, group_id: group, max_batch_records: 37 });
    // First run: acknowledge 6 batches (of several partitions each), then stop with one in hand.
    const first = createKafkaSource(config, ctx({ drain: true }));
    const acked: RawRecord[] = [];
    const expected: Record<string, number> = {};
    let n = 0;
    try {
      await consume(first, async (b) => {
        if (++n > 6) return false; // taken, never acknowledged: a crash
        await b.ack();
        acked.push(...b.records);
        for (const t of b.offsets!.topics) {
          for (const p of t.partitions) expected[`${t.topic}/${p.partition}`] = Number(p.offset);
        }
        return true;
      });
    } finally {
      await first.close();
    }
    assert.ok(Object.keys(expected).length > 1, "the batches covered several partitions");
    const after = await committed(group, topics);
    for (const [part, offset] of Object.entries(after)) {
      assert.equal(Number(offset), expected[part] ?? -1, `committed ${part}`);
    }
    // Each acknowledged batch committed, per partition, just past its last record.
    for (const [part, offset] of Object.entries(expected)) {
      const last = Math.max(...acked.filter((r) => partOf(r) === part).map(offsetOf));
      assert.equal(offset, last + 1, part);
    }
    // Second run, same group: exactly the rest, nothing lost, nothing read twice.
    const second = createKafkaSource(config, ctx({ drain: true }));
    let rest: RawRecord[];
    try {
      rest = (await consume(second)).records;
    } finally {
      await second.close();
    }
    const key = (r: RawRecord) => `${partOf(r)}@${offsetOf(r)}`;
    const all = [...acked, ...rest].map(key);
    assert.equal(new Set(all).size, 600, "no record lost");
    assert.equal(all.length, 600, "no record read twice");
    const final = await committed(group, topics);
    assert.ok(Object.values(final).every((o) => o === "50"), JSON.stringify(final));
  },
);
