/**
 * A dead letter from the record it stands for, and back: the payload keeps the record's bytes
 * exactly (UTF-8 text when the record is JSON and decodes as such, base64 otherwise), so a redrive
 * hands the pipeline the bytes its source read.
 * @module
 */
import { Buffer } from "node:buffer";
import type { DeadLetter, DlqCategory, Position, RawRecord } from "../core/types.ts";
import { redact } from "../core/secrets.ts";

export interface LetterOptions {
  /** Hash of the correlation policy in force. */
  policy: string;
  /** The record's stream, when decoding found it. */
  stream?: string;
  /** Epoch ms; default now. */
  time?: number;
}

/** The dead letter of a record the pipeline could not process. */
export function deadLetter(
  record: RawRecord,
  category: DlqCategory,
  reason: string,
  options: LetterOptions,
): DeadLetter {
  const { payload, payload_encoding } = payloadOf(record.value, record.format);
  return {
    category,
    ...(record.key !== undefined ? { key: record.key } : {}),
    reason: redact(reason), // a sink's error may quote its URL; dead letters are read by many
    ...(options.stream ? { stream: options.stream } : {}),
    position: record.position,
    payload,
    payload_encoding,
    time: options.time ?? Date.now(),
    policy: options.policy,
    format: record.format,
    ...(record.redrive ? { redriven: record.redrive.attempt } : {}),
  };
}

/**
 * Text stays readable; binary (Avro, or bytes that are not UTF-8) is kept exactly, as base64.
 * A letter of unknown format (written before letters said) is text when it decodes as such.
 */
export function payloadOf(
  bytes: Uint8Array,
  format: RawRecord["format"] | undefined,
): Pick<DeadLetter, "payload" | "payload_encoding"> {
  if (format === "json" || format === undefined) {
    try {
      const payload = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      return { payload, payload_encoding: "utf8" };
    } catch { /* not text: base64 below */ }
  }
  return { payload: Buffer.from(bytes).toString("base64"), payload_encoding: "base64" };
}

/** The bytes a letter's payload stands for. */
export function payloadBytes(letter: Pick<DeadLetter, "payload" | "payload_encoding">): Uint8Array {
  return letter.payload_encoding === "base64"
    ? new Uint8Array(Buffer.from(letter.payload, "base64"))
    : new TextEncoder().encode(letter.payload);
}

/** A position as people write it: `topic/partition@offset`, or `path:line`. */
export function describePosition(at: Position): string {
  return at.kind === "kafka" ? `${at.topic}/${at.partition}@${at.offset}` : `${at.path}:${at.line}`;
}
