/**
 * The letters of a Kafka dead-letter topic (see `dlq.ts` for what a cursor means), read by the
 * consumer group of the cursor the redrive advances: `<group_id>` for every category,
 * `<group_id>.<category>` for one. A letter behind another cursor that also covers it is skipped,
 * and so is a truncated letter (a record too large for the topic's messages, whose payload holds
 * only its start): it is reported with where its whole record is, to be replayed from there.
 * @module
 */
import type { Admin } from "kafkajs";
import type { Context, Source, SourceBatch } from "../core/component.ts";
import { DLQ_CATEGORIES, type DlqCategory, type RawRecord } from "../core/types.ts";
import {
  type DeadLetter,
  describePosition,
  fromMessage,
  type KafkaQueueConfig,
} from "../dead_letters/mod.ts";
import { createKafka, kafkaError } from "../kafka/mod.ts";
import { createRegistry } from "../schema_registry/mod.ts";
import { createSchemaCache, type SchemaCache } from "../codecs/confluent.ts";
import { createKafkaSource, schema as kafkaSourceSchema } from "./kafka.ts";

/** What the Kafka reader takes of the `dlq` source's config. */
interface Options {
  category?: DlqCategory;
  group_id: string;
  schema_registry?: string;
  dry_run: boolean;
  batch_size: number;
}

export function kafkaLetters(
  config: Options,
  queue: KafkaQueueConfig,
  ctx: Context,
  toRecord: (l: DeadLetter) => RawRecord,
): Source {
  const own = config.category ? `${config.group_id}.${config.category}` : config.group_id;
  const inner = createKafkaSource(
    kafkaSourceSchema.parse({
      type: "kafka",
      brokers: queue.brokers,
      client_id: queue.client_id,
      ...(queue.sasl ? { sasl: queue.sasl } : {}),
      ssl: queue.ssl,
      group_id: own,
      topics: [queue.topic],
      max_batch_records: config.batch_size,
      partitions_consumed_concurrently: 1,
    }),
    { ...ctx, drain: true, from: undefined },
  );
  const schemas: SchemaCache | undefined = config.schema_registry
    ? createSchemaCache(createRegistry(config.schema_registry))
    : undefined;

  /** The other cursors a letter must be past: partition → offset, per category or for all. */
  async function otherCursors(): Promise<(category: DlqCategory, partition: number) => bigint> {
    const admin: Admin = (await createKafka(queue, ctx.log)).admin();
    const offsets = async (groupId: string) => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [queue.topic] });
      return new Map(t.partitions.map((p) => [p.partition, BigInt(p.offset)]));
    };
    try {
      await admin.connect();
      if (config.category) {
        const all = await offsets(config.group_id);
        return (_c, p) => all.get(p) ?? -1n;
      }
      const per = new Map<string, Map<number, bigint>>();
      for (const c of DLQ_CATEGORIES) per.set(c, await offsets(`${config.group_id}.${c}`));
      return (c, p) => per.get(c)?.get(p) ?? -1n;
    } catch (error) {
      throw kafkaError(`reading the redrive cursors of "${queue.topic}"`, error);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  return {
    writerSchema: schemas?.get,
    async *batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      const cursor = await otherCursors();
      for await (const b of inner.batches(signal)) {
        const records: RawRecord[] = [];
        for (const r of b.records) {
          const l = fromMessage(r);
          if (!l) {
            ctx.log("warn", `dlq: ${describePosition(r.position)} is not a dead letter; skipped`);
          }
          if (!l || (config.category && l.category !== config.category)) continue;
          const at = r.position.kind === "kafka" ? r.position : undefined;
          if (at && BigInt(at.offset) < cursor(l.category, at.partition)) continue;
          if (l.truncated !== undefined) {
            // Only the payload's start is here: re-injected, it would fail for want of the rest.
            ctx.log(
              "warn",
              `dlq: ${describePosition(r.position)} holds only the first ${r.value.length} of ` +
                `its record's ${l.truncated} bytes; skipped (the whole record is at ` +
                `${describePosition(l.position)})`,
            );
            continue;
          }
          records.push(toRecord(l));
        }
        await schemas?.prefetch(records);
        // A batch left empty still goes through: its acknowledgement moves the cursor, in order.
        yield config.dry_run ? { records, ack: () => b.ack({ committed: true }) } : {
          records,
          offsets: b.offsets,
          ack: (o) => b.ack(o),
        };
      }
    },
    check: () => inner.check(),
    close: () => inner.close(),
  };
}
