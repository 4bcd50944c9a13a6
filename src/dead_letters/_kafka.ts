/**
 * A dead letter as a Kafka message (the Kafka queue): the original bytes as the value, the
 * original key (when the letter carries one) and the diagnosis as headers ({@link HEADERS}).
 * @module
 */
import { Buffer } from "node:buffer";
import { type DeadLetter, DLQ_CATEGORIES, type DlqCategory, type Position } from "../core/types.ts";
import { payloadBytes, payloadOf } from "./_letter.ts";

/** The header names of a Kafka dead letter. */
export const HEADERS = {
  category: "ics.category",
  reason: "ics.reason",
  stream: "ics.stream",
  policy: "ics.policy",
  /** Epoch ms. */
  time: "ics.time",
  attempts: "ics.attempts",
  /** How the source encoded the value (`json`, `avro`, `avro_confluent`). */
  format: "ics.format",
  /** Times redriven. */
  redriven: "ics.redriven",
  /** Kafka position of the record. */
  topic: "ics.source.topic",
  partition: "ics.source.partition",
  offset: "ics.source.offset",
  /** File position of the record. */
  path: "ics.source.path",
  line: "ics.source.line",
  /** Set when the value is only the payload's start (it did not fit a message): its full size. */
  truncated: "ics.truncated",
} as const;

/** A letter as a message, in the form the kafkajs producer takes. */
export interface LetterMessage {
  key: string | null;
  value: Buffer;
  headers: Record<string, string>;
}

export function toMessage(letter: DeadLetter): LetterMessage {
  const h: Record<string, string> = {
    [HEADERS.category]: letter.category,
    [HEADERS.reason]: letter.reason,
    [HEADERS.policy]: letter.policy,
    [HEADERS.time]: String(letter.time),
  };
  if (letter.stream) h[HEADERS.stream] = letter.stream;
  if (letter.attempts !== undefined) h[HEADERS.attempts] = String(letter.attempts);
  if (letter.format) h[HEADERS.format] = letter.format;
  if (letter.redriven !== undefined) h[HEADERS.redriven] = String(letter.redriven);
  if (letter.truncated !== undefined) h[HEADERS.truncated] = String(letter.truncated);
  const at = letter.position;
  if (at.kind === "kafka") {
    h[HEADERS.topic] = at.topic;
    h[HEADERS.partition] = String(at.partition);
    h[HEADERS.offset] = at.offset;
  } else {
    h[HEADERS.path] = at.path;
    h[HEADERS.line] = String(at.line);
  }
  return { key: letter.key ?? null, value: Buffer.from(payloadBytes(letter)), headers: h };
}

/** A message as a consumer reads it (the Kafka source's records have this shape). */
export interface ReadMessage {
  key?: string;
  value: Uint8Array;
  headers?: Record<string, string>;
}

/** The letter a message holds, or undefined when it is none (no known category header). */
export function fromMessage(m: ReadMessage): DeadLetter | undefined {
  const h = m.headers ?? {};
  const category = h[HEADERS.category] as DlqCategory;
  if (!DLQ_CATEGORIES.includes(category)) return undefined;
  const position: Position = h[HEADERS.topic] !== undefined
    ? {
      kind: "kafka",
      topic: h[HEADERS.topic],
      partition: Number(h[HEADERS.partition]),
      offset: h[HEADERS.offset],
    }
    : { kind: "file", path: h[HEADERS.path] ?? "", line: Number(h[HEADERS.line]) };
  const format = h[HEADERS.format] as DeadLetter["format"] | undefined;
  return {
    category,
    ...(m.key !== undefined ? { key: m.key } : {}),
    reason: h[HEADERS.reason] ?? "",
    ...(h[HEADERS.stream] ? { stream: h[HEADERS.stream] } : {}),
    position,
    ...payloadOf(m.value, format),
    time: Number(h[HEADERS.time] ?? 0),
    policy: h[HEADERS.policy] ?? "",
    ...(h[HEADERS.attempts] ? { attempts: Number(h[HEADERS.attempts]) } : {}),
    ...(format ? { format } : {}),
    ...(h[HEADERS.redriven] ? { redriven: Number(h[HEADERS.redriven]) } : {}),
    ...(h[HEADERS.truncated] ? { truncated: Number(h[HEADERS.truncated]) } : {}),
  };
}
