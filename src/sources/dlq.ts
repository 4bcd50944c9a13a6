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
 * cursors are consumer groups on the dead-letter topic, `<group_id>` and `<group_id>.<category>`
 * (see `_dlq_kafka.ts`): the redrive consumes with the group it advances (up to the end offsets
 * present at start), and the Kafka dead-letter queue commits that group's offsets in one
 * transaction with the letters that failed again.
 * @module
 */
import { z } from "zod";
import type avro from "avsc";
import type { ComponentDef, Source } from "../core/component.ts";
import { DLQ_CATEGORIES, type RawRecord } from "../core/types.ts";
import {
  type DeadLetter,
  fileQueueSchema,
  kafkaQueueSchema,
  payloadBytes,
} from "../dead_letters/mod.ts";
import { fileLetters } from "./_dlq_file.ts";
import { kafkaLetters } from "./_dlq_kafka.ts";
import { writerOfFile } from "./_avro_header.ts";

export const schema = z.strictObject({
  type: z.literal("dlq"),
  queue: z.discriminatedUnion("type", [fileQueueSchema, kafkaQueueSchema]).describe(
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
    const toRecord = (l: DeadLetter) => recordOf(l, streamOf, !!config.schema_registry, writerOf);
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
  letter: DeadLetter,
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
    value: payloadBytes(letter),
    format,
    position: at,
    redrive: {
      attempt: (letter.redriven ?? 0) + 1,
      category: letter.category,
      reason: letter.reason,
    },
  };
}
