/**
 * Kafka dead-letter queue: each letter is produced to a topic (default `trimodal.events.dlq`)
 * with the original bytes as the value, the original key (when the letter carries one) and the
 * diagnosis as headers: `ics.category`, `ics.reason`, `ics.stream`, `ics.policy`, `ics.time`
 * (epoch ms), `ics.format` (how the source encoded the value), `ics.redriven` (times redriven),
 * and the source position (`ics.source.topic`/`.partition`/`.offset`, or `ics.source.path`/`.line`
 * for files); see `src/dead_letters` (`toMessage`, `HEADERS`).
 *
 * A transactional, idempotent producer (`maxInFlightRequests: 1`). `writeAndCommit()` sends the
 * letters (in as many requests as the topic's `max.message.bytes` needs, read from the broker;
 * a letter larger than that is truncated, see `src/dead_letters/_requests.ts`) and the consumed
 * offsets (`sendOffsets`) in one transaction: either both the letters and the group's new
 * position become visible (to `read_committed` readers) or neither; a batch whose partition was
 * revoked meanwhile (no offsets left) writes no letters: it is read again. `write()` is the same
 * without offsets, for sources that are not Kafka. A failed transaction is aborted, the
 * producer replaced (a fenced or confused producer is not reused) and the error rethrown, as a
 * RetriableError when it is transient so the runtime retries the whole transaction.
 *
 * The transactional id must be unique per running instance (two instances with one id fence each
 * other). Default `ics-dlq-<group>`: right for one instance per consumer group; with several, set
 * `transactional_id` per instance (the shipped spec appends `${ICS_INSTANCE:-0}`).
 * @module
 */
import type { Admin, Producer, Transaction } from "kafkajs";
import type { ComponentDef, DeadLetterQueue, SourceOffsets } from "../core/component.ts";
import type { DeadLetter } from "../core/types.ts";
import {
  HEADERS,
  inRequests,
  type KafkaQueueConfig as KafkaDlqConfig,
  kafkaQueueSchema as schema,
} from "../dead_letters/mod.ts";
import { createKafka, type Kafka, kafkaError, kafkajs, partitioner } from "../kafka/mod.ts";
import { redactError } from "../core/secrets.ts";

/**
 * Request size when the broker does not tell the topic's `max.message.bytes` (no permission to
 * describe it, say): a little under Kafka's default (1,048,588).
 */
export const FALLBACK_MAX_MESSAGE_BYTES = 1_000_000;

export { type KafkaDlqConfig, schema };

export const kafka: ComponentDef<typeof schema, DeadLetterQueue> = {
  type: "kafka",
  schema,
  create: (config, ctx) => Promise.resolve(createKafkaDlq(config, ctx.log)),
};

export function createKafkaDlq(
  config: KafkaDlqConfig,
  log?: (level: "info" | "warn" | "error", message: string) => void,
): DeadLetterQueue {
  let kafka: Promise<Kafka> | undefined;
  const client = () => kafka ??= createKafka(config, log);
  let producer: Promise<Producer> | undefined;
  let transactionalId = config.transactional_id;

  const open = (group?: string): Promise<Producer> => {
    if (!producer) {
      transactionalId ??= `ics-dlq-${group ?? "ics"}`;
      producer = (async () => {
        const p = (await client()).producer({
          transactionalId,
          idempotent: true,
          maxInFlightRequests: 1,
          transactionTimeout: config.transaction_timeout_ms,
          allowAutoTopicCreation: false,
          createPartitioner: await partitioner(),
        });
        await p.connect();
        return p;
      })();
      producer.catch(() => producer = undefined);
    }
    return producer;
  };
  // The topic's message size limit, read once from the broker (again after a failed read).
  let limit: Promise<number> | undefined;
  const maxMessageBytes = () =>
    limit ??= (async () => {
      let admin: Admin | undefined;
      try {
        admin = (await client()).admin();
        await admin.connect();
        const { ConfigResourceTypes } = await kafkajs();
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{
            type: ConfigResourceTypes.TOPIC,
            name: config.topic,
            configNames: ["max.message.bytes"],
          }],
        });
        const value = Number(resources[0]?.configEntries[0]?.configValue);
        if (!(value > 0)) throw new Error("the broker named no max.message.bytes");
        return value;
      } catch (error) {
        limit = undefined;
        log?.(
          "warn",
          `dead-letter topic "${config.topic}": cannot read its max.message.bytes ` +
            `(${redactError(error)}); sending letters in requests of at most ` +
            `${FALLBACK_MAX_MESSAGE_BYTES} bytes`,
        );
        return FALLBACK_MAX_MESSAGE_BYTES;
      } finally {
        await admin?.disconnect().catch(() => {});
      }
    })();

  const reset = async () => {
    const p = producer;
    producer = undefined;
    await p?.then((x) => x.disconnect()).catch(() => {});
  };

  async function transact(letters: DeadLetter[], offsets?: SourceOffsets) {
    const sendsOffsets = offsets !== undefined && offsets.topics.some((t) => t.partitions.length);
    // A batch whose partition was revoked (a rebalance, a broker restart) has no offsets left:
    // its new owner reads it again and dead-letters the same records. Its letters go with its
    // offsets, or not at all, or they would be on the topic twice.
    if (offsets !== undefined && !sendsOffsets) return;
    if (letters.length === 0 && !sendsOffsets) return;
    // Letters in requests under the topic's limit (a burst makes more than one request may
    // carry), all in the one transaction; a letter larger than any request is truncated.
    const requests = letters.length ? inRequests(letters, await maxMessageBytes()) : [];
    for (const m of requests.flat()) {
      if (m.headers[HEADERS.truncated] !== undefined) log?.("warn", m.headers[HEADERS.reason]);
    }
    let tx: Transaction | undefined;
    try {
      tx = await (await open(offsets?.group)).transaction();
      for (const messages of requests) {
        await tx.send({ topic: config.topic, acks: -1, messages });
      }
      if (sendsOffsets) await sendOffsets(tx, offsets!);
      await tx.commit();
    } catch (error) {
      await tx?.abort().catch(() => {});
      await reset();
      throw kafkaError(
        `dead-letter transaction on "${config.topic}" aborted (${letters.length} letters${
          sendsOffsets ? " and source offsets" : ""
        })`,
        error,
      );
    }
  }

  // One transaction at a time per producer: calls are queued, never interleaved.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  return {
    write: (letters) => serial(() => transact(letters)),
    writeAndCommit: (letters, offsets) => serial(() => transact(letters, offsets)),
    async check() {
      let admin: Admin | undefined;
      try {
        admin = (await client()).admin();
        await admin.connect();
        if (!(await admin.listTopics()).includes(config.topic)) {
          throw new Error(`dead-letter topic "${config.topic}" does not exist (ics topics)`);
        }
      } catch (error) {
        throw kafkaError("kafka dead-letter queue check", error);
      } finally {
        await admin?.disconnect().catch(() => {});
      }
    },
    close: reset,
  };
}

/**
 * `sendOffsets`, retried while the coordinator still completes the previous transaction
 * (CONCURRENT_TRANSACTIONS): kafkajs retries that error for AddPartitionsToTxn but not for
 * AddOffsetsToTxn (kafkajs#430), while the Java client retries both.
 */
async function sendOffsets(tx: Transaction, offsets: SourceOffsets) {
  for (let attempt = 0;; attempt++) {
    try {
      return await tx.sendOffsets({ consumerGroupId: offsets.group, topics: offsets.topics });
    } catch (error) {
      const type = (error as { type?: string }).type;
      if (type !== "CONCURRENT_TRANSACTIONS" || attempt >= 30) throw error;
      await new Promise((r) => setTimeout(r, Math.min(500, 10 * 2 ** attempt)));
    }
  }
}
