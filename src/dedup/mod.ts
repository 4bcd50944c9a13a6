/**
 * Deduplication: the idempotency key of an event and the stores that remember keys.
 * @module
 */
import { sha256 } from "../core/hash.ts";
import type { Event } from "../core/types.ts";
import { readField } from "../core/fields.ts";
import { memory } from "./memory.ts";
import { redis } from "./redis.ts";

export const dedupStores = { memory, redis } as const;

/**
 * The idempotency key: SHA-256 of the configured fields joined by ":" (a stream's default:
 * `{iteration_id}:{event_type}:{main field}:{timestamp}`, README "Events"), a null or absent field
 * as the empty string.
 * Dotted names reach into maps (`metadata.run`).
 */
export function idempotencyKey(event: Event, fields: readonly string[]): string {
  return sha256(fields.map((f) => text(readField(event, f))).join(":"));
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
