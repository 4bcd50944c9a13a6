/**
 * Dead letters: what the pipeline could not process, kept with a category, a one-line reason and
 * the record's original bytes and position. This module is the letter's one definition, which the
 * runtime (building letters), the dead-letter queues (writing them) and the `dlq` source (reading
 * them back for `ics dlq redrive`) share:
 *
 * - {@link deadLetter}: the letter of a record; {@link payloadBytes}: its bytes again;
 *   {@link describePosition}: where its record was, as people write it.
 * - {@link letterId}: what makes two letters the same (a replayed batch's letters are not new).
 * - JSON Lines (the file queue): {@link encodeLine} / {@link decodeLine}.
 * - Kafka (the Kafka queue): {@link toMessage} / {@link fromMessage}, header names {@link HEADERS};
 *   {@link inRequests}: letters in produce requests under the broker's size limit (a letter too
 *   large for any is truncated, and says so).
 * - The queues' configs: {@link fileQueueSchema}, {@link kafkaQueueSchema}.
 *
 * The letter type itself, {@link DeadLetter}, is in `core/types.ts` with the other data of the
 * pipeline.
 * @module
 */
export type { DeadLetter, DlqCategory } from "../core/types.ts";
export { DLQ_CATEGORIES } from "../core/types.ts";
export { deadLetter, describePosition, type LetterOptions, payloadBytes } from "./_letter.ts";
export { letterId } from "./_id.ts";
export { decodeLine, encodeLine } from "./_jsonl.ts";
export { fromMessage, HEADERS, type LetterMessage, type ReadMessage, toMessage } from "./_kafka.ts";
export { inRequests, messageBytes } from "./_requests.ts";
export {
  DEFAULT_DLQ_TOPIC,
  type FileQueueConfig,
  fileQueueSchema,
  type KafkaQueueConfig,
  kafkaQueueSchema,
} from "./_queues.ts";
