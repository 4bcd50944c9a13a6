/** The Kafka dead-letter queue: letters and source offsets in one transaction, or neither. */
import assert from "node:assert/strict";
import { serviceTest } from "./_services.ts";
import { createKafkaDlq, schema as dlqSchema } from "../../src/sinks/kafka_dlq.ts";
import {
  BROKERS,
  committed,
  createTopics,
  letters,
  produceDde,
  readAll,
  unique,
  withAdmin,
} from "./_kafka.ts";

serviceTest(
  "writeAndCommit() of a revoked batch (no offsets left) writes no letters: the batch is read again",
  ["kafka"],
  async () => {
    const source = unique("ics.test.src");
    const dlqTopic = unique("ics.test.dlq");
    await using _topics = await createTopics([source, dlqTopic]);
    const dlq = createKafkaDlq(
      dlqSchema.parse({ type: "kafka", brokers: BROKERS, topic: dlqTopic }),
    );
    try {
      await dlq.writeAndCommit!(letters(source), { group: unique("g"), topics: [] });
      await dlq.write(letters(source).slice(0, 1)); // a batch of a file source: written
    } finally {
      await dlq.close();
    }
    const got = await readAll(dlqTopic);
    assert.deepEqual(got.map((m) => m.headers["ics.category"]), ["decode_error"]);
  },
);

serviceTest(
  "writeAndCommit() puts the letters on the DLQ topic and moves the group's offsets in one transaction",
  [
    "kafka",
  ],
  async () => {
    const source = unique("ics.test.src");
    const dlqTopic = unique("ics.test.dlq");
    await using _topics = await createTopics([source, dlqTopic]);
    await produceDde(source, 8);
    const group = unique("g");
    const dlq = createKafkaDlq(
      dlqSchema.parse({ type: "kafka", brokers: BROKERS, topic: dlqTopic }),
    );
    try {
      await dlq.check();
      await dlq.writeAndCommit!(letters(source), {
        group,
        topics: [{ topic: source, partitions: [{ partition: 0, offset: "5" }] }],
      });
    } finally {
      await dlq.close();
    }
    assert.deepEqual(await committed(group, [source]), { [`${source}/0`]: "5" });
    const got = await readAll(dlqTopic);
    assert.equal(got.length, 2);
    assert.deepEqual([...got[0].value], [0, 255, 7], "original bytes, base64-decoded");
    assert.equal(got[0].key, null);
    assert.deepEqual(got[0].headers, {
      "ics.category": "decode_error",
      "ics.reason": "value does not start with the Confluent magic byte 0 (found 123)",
      "ics.stream": "dde",
      "ics.policy": "abc123",
      "ics.time": "1740992400000",
      "ics.source.topic": source,
      "ics.source.partition": "0",
      "ics.source.offset": "3",
    });
    assert.equal(new TextDecoder().decode(got[1].value), '{"event_id":"x"}');
    assert.equal(got[1].key, "it-9");
    assert.equal(got[1].headers["ics.source.path"], "/data/events.jsonl");
    assert.equal(got[1].headers["ics.source.line"], "65");
    assert.equal(got[1].headers["ics.category"], "schema_violation");
  },
);

serviceTest("an aborted dead-letter transaction leaves neither letters nor offsets", [
  "kafka",
], async () => {
  const source = unique("ics.test.src");
  const dlqTopic = unique("ics.test.dlq");
  await using _topics = await createTopics([source, dlqTopic]);
  const group = unique("g");
  const dlq = createKafkaDlq(dlqSchema.parse({ type: "kafka", brokers: BROKERS, topic: dlqTopic }));
  try {
    // The letters are sent inside the transaction, then the offsets fail (no such partition):
    // the transaction aborts and the error comes back.
    await assert.rejects(
      dlq.writeAndCommit!(letters(source), {
        group,
        topics: [
          { topic: source, partitions: [{ partition: 0, offset: "1" }] },
          { topic: unique("ics.test.missing"), partitions: [{ partition: 0, offset: "1" }] },
        ],
      }),
      /dead-letter transaction on ".*" aborted \(2 letters and source offsets\)/,
    );
    assert.deepEqual(await committed(group, [source]), { [`${source}/0`]: "-1" });
    // The producer recovers: the next transaction commits, and only its letter is visible.
    await dlq.write(letters(source).slice(1));
  } finally {
    await dlq.close();
  }
  const got = await readAll(dlqTopic);
  assert.deepEqual(got.map((m) => m.headers["ics.category"]), ["schema_violation"]);
  const highs = await withAdmin((a) => a.fetchTopicOffsets(dlqTopic));
  assert.ok(Number(highs[0].high) > 2, "the aborted letters occupy offsets but stay invisible");
});
