/**
 * Dead-letter source (`ics dlq redrive`): the letters of a target's dead-letter queue become raw
 * records again, as their source read them (payload bytes, format, stream, key and original
 * position), each carrying its redrive attempt and the category and reason it died with. The
 * runtime processes them like any input; a letter that fails again is dead-lettered again, with
 * its redrive count.
 *
 * Which letters are pending: cursors say how far letters were redriven, one for a redrive of every
 * category and one per category (`--category`). A letter is pending when it lies past both its
 * category's cursor and the every-category one; a redrive advances only its own. So redriving one
 * category never hides the letters of another, and a letter that fails again is appended past
 * every cursor: pending for the next redrive, after the next fix. A cursor moves when the runtime
 * acknowledges a batch, i.e. once every sink holds its outcome.
 *
 * A file queue keeps its cursors in `<file>.redrive.json` (see `_dlq_file.ts`). A Kafka queue's
 * cursors are consumer groups on the dead-letter topic, `<group_id>` and `<group_id>.<category>`:
 * the redrive consumes with the group it advances (up to the end offsets present at start), and the
 * Kafka dead-letter queue commits that group's offsets in one transaction with the letters that
 * failed again.
 * @module
 */
import { z } from "zod";
import type { Admin } from "kafkajs";
import type avro from "avsc";
import type { ComponentDef, Context, Source, SourceBatch } from "../core/component.ts";
import { DLQ_CATEGORIES, type DlqCategory, type Position, type RawRecord } from "../core/types.ts";
import { schema as fileDlqSchema } from "../sinks/file_dlq.ts";
import { schema as kafkaDlqSchema } from "../sinks/kafka_dlq.ts";
import { createKafka, kafkaError } from "../kafka/mod.ts";
import { createRegistry } from "../registry/mod.ts";
import { createSchemaCache, type SchemaCache } from "../codecs/confluent.ts";
import { createKafkaSource, schema as kafkaSourceSchema } from "./kafka.ts";
import { fileLetters } from "./_dlq_file.ts";
import { writerOfFile } from "./_avro_header.ts";
export { parseLetter } from "./_dlq_file.ts";

export const schema = z.strictObject({
  type: z.literal("dlq"),
  queue: z.discriminatedUnion("type", [fileDlqSchema, kafkaDlqSchema]).describe(
    "The dead-letter queue to read (a target's `dlq`).",
  ),
  category: z.enum(DLQ_CATEGORIES).optional().describe("Only letters of this category."),
  group_id: z.string().min(1).default("ics.redrive").describe(
    "Kafka queue: consumer group of the every-category cursor; `<group_id>.<category>` per category.",
  ),
  schema_registry: z.string().regex(/^https?:\/\//).optional().describe(
    "Registry of Confluent-framed payloads (the target source's).",
  ),
  dry_run: z.boolean().default(false).describe("Never move a cursor."),
  batch_size: z.number().int().min(1).max(100_000).default(1000).describe("Letters per batch."),
}).describe("Read dead letters back as input (ics dlq redrive); not a target source.");

export type DlqSourceConfig = z.infer<typeof schema>;

/** A dead letter as stored, whichever queue holds it. */
export interface StoredLetter {
  category: DlqCategory;
  reason: string;
  stream?: string;
  key?: string;
  position: Position;
  value: Uint8Array;
  format?: RawRecord["format"];
  redriven?: number;
}

export const dlq: ComponentDef<
  typeof schema,
  Source,
  { streamTopics?: Record<string, string> }
> = {
  type: "dlq",
  schema,
  create(config, ctx) {
    const streamOf = new Map(Object.entries(ctx.streamTopics ?? {}).map(([s, t]) => [t, s]));
    // An Avro file's records are read with the writer schema in its header (once per file).
    const writers = new Map<string, avro.Type | Error>();
    const writerOf = (path: string) => {
      if (!writers.has(path)) {
        try {
          writers.set(path, writerOfFile(path));
        } catch (error) {
          writers.set(path, error as Error);
        }
      }
      return writers.get(path)!;
    };
    const toRecord = (l: StoredLetter) => recordOf(l, streamOf, !!config.schema_registry, writerOf);
    return Promise.resolve(
      config.queue.type === "file"
        ? fileLetters(config, config.queue.path, ctx, toRecord)
        : kafkaLetters(config, config.queue, ctx, toRecord),
    );
  },
};

/**
 * The raw record a letter came from. Its format is the letter's, else what its source produced
 * (a `.avro` file: Avro; another file: JSON; Kafka: Confluent framing when a registry is set).
 * JSON finds its stream by event type, as the file source leaves it; binary formats need the
 * stream of the topic they came from.
 */
export function recordOf(
  letter: StoredLetter,
  streamOf: Map<string, string>,
  registry: boolean,
  writerOf?: (path: string) => avro.Type | Error,
): RawRecord {
  const at = letter.position;
  const format = letter.format ??
    (at.kind === "file"
      ? at.path.endsWith(".avro") ? "avro" : "json"
      : registry
      ? "avro_confluent"
      : "avro");
  const stream = format === "json"
    ? undefined
    : (at.kind === "kafka" ? streamOf.get(at.topic) : undefined) ?? letter.stream;
  const writer = format === "avro" && at.kind === "file" ? writerOf?.(at.path) : undefined;
  return {
    ...(writer instanceof Error
      ? {
        invalid: {
          category: "decode_error",
          reason: `the writer schema of the Avro file cannot be read: ${writer.message}`,
        },
      }
      : writer
      ? { writer }
      : {}),
    ...(stream ? { stream } : {}),
    ...(letter.key !== undefined ? { key: letter.key } : {}),
    value: letter.value,
    format,
    position: at,
    redrive: {
      attempt: (letter.redriven ?? 0) + 1,
      category: letter.category,
      reason: letter.reason,
    },
  };
}

/** A letter from its Kafka form (src/sinks/kafka_dlq.ts: value and key, diagnosis in headers). */
export function kafkaLetter(record: RawRecord): StoredLetter | undefined {
  const h = record.headers ?? {};
  const category = h["ics.category"] as DlqCategory;
  if (!DLQ_CATEGORIES.includes(category)) return undefined;
  const position: Position = h["ics.source.topic"] !== undefined
    ? {
      kind: "kafka",
      topic: h["ics.source.topic"],
      partition: Number(h["ics.source.partition"]),
      offset: h["ics.source.offset"],
    }
    : { kind: "file", path: h["ics.source.path"] ?? "", line: Number(h["ics.source.line"]) };
  return {
    category,
    reason: h["ics.reason"] ?? "",
    ...(h["ics.stream"] ? { stream: h["ics.stream"] } : {}),
    ...(record.key !== undefined ? { key: record.key } : {}),
    position,
    value: record.value,
    ...(h["ics.format"] ? { format: h["ics.format"] as RawRecord["format"] } : {}),
    ...(h["ics.redriven"] ? { redriven: Number(h["ics.redriven"]) } : {}),
  };
}

/** The letters of a Kafka dead-letter topic, read by the consumer group of the cursor advanced. */
function kafkaLetters(
  config: DlqSourceConfig,
  queue: z.infer<typeof kafkaDlqSchema>,
  ctx: Context,
  toRecord: (l: StoredLetter) => RawRecord,
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
          const l = kafkaLetter(r);
          if (!l) ctx.log("warn", `dlq: ${describe(r.position)} is not a dead letter; skipped`);
          if (!l || (config.category && l.category !== config.category)) continue;
          const at = r.position.kind === "kafka" ? r.position : undefined;
          if (at && BigInt(at.offset) < cursor(l.category, at.partition)) continue;
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

export function describe(at: Position): string {
  return at.kind === "kafka" ? `${at.topic}/${at.partition}@${at.offset}` : `${at.path}:${at.line}`;
}
