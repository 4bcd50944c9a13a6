/**
 * Where dead letters are kept: the config of each queue, shared by the sink that writes it and
 * the `dlq` source that reads it back (`ics dlq redrive`).
 * @module
 */
import { z } from "zod";
import { connectionFields } from "../kafka/mod.ts";

export const DEFAULT_DLQ_TOPIC = "trimodal.events.dlq";

export const fileQueueSchema = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).default("dlq.jsonl").describe(
    "JSON Lines file, relative to the state folder.",
  ),
}).describe("Append dead letters to a local JSON Lines file.");

export const kafkaQueueSchema = z.strictObject({
  type: z.literal("kafka"),
  ...connectionFields,
  topic: z.string().min(1).default(DEFAULT_DLQ_TOPIC).describe("Dead-letter topic."),
  transactional_id: z.string().min(1).optional().describe(
    "Transactional id, unique per instance; default ics-dlq-<consumer group>.",
  ),
  transaction_timeout_ms: z.number().int().min(1000).max(900_000).default(60_000).describe(
    "How long the broker lets a transaction stay open before aborting it.",
  ),
}).describe("Produce dead letters to a Kafka topic, transactionally with the source offsets.");

export type FileQueueConfig = z.infer<typeof fileQueueSchema>;
export type KafkaQueueConfig = z.infer<typeof kafkaQueueSchema>;
