/**
 * Deduplication: the idempotency key and the content digest of an event, and the stores that
 * remember them.
 *
 * The key says what an event is about (README "Identity and idempotency": iteration, type, the natural keys it names,
 * time); the digest says what it says (every field but event_id). A store keeps the digests seen
 * under each key, so a key hit is verified: the same digest is a duplicate and is dropped, another
 * digest is a key collision, a distinct event that is processed (and counted).
 * @module
 */
import { sha256, stableStringify } from "../core/hash.ts";
import type { Event } from "../core/types.ts";
import { readField } from "../core/fields.ts";
import { memory } from "./memory.ts";
import { redis } from "./redis.ts";

export const dedupStores = { memory, redis } as const;
export { carryOnWhenUnavailable, MAX_BACKLOG } from "./carry_on.ts";

/**
 * The idempotency key: SHA-256 of the key fields joined by ":" (README, "Identity and
 * idempotency": `{iteration_id}:{event_type}:{node_id}:{workflow_id}:{timestamp}` for a task event), a null or absent field as
 * the empty string. Dotted names reach into maps (`metadata.run`).
 */
export function idempotencyKey(event: Event, fields: readonly string[]): string {
  return sha256(fields.map((f) => text(readField(event, f))).join(":"));
}

/**
 * The digest of an event's content: 128 bits of SHA-256 over the values of `fields` (every field
 * of the stream's schema but event_id, in schema order; maps with sorted keys). Absent and null are
 * the same (the event contract: an optional field may be either).
 */
export function contentDigest(event: Event, fields: readonly string[]): string {
  let text = "";
  for (const f of fields) {
    const v = event[f];
    text += (v !== null && typeof v === "object" && !Array.isArray(v)
      ? stableStringify(v)
      : JSON.stringify(v ?? null)) + "\n";
  }
  return sha256(text).slice(0, 32);
}

/** An event's idempotency key and content digest, as its stream's spec derives them. */
export function identify(
  stream: { dedupKeys: ReadonlyMap<string, readonly string[]>; digestFields: readonly string[] },
  event: Event,
): { key: string; digest: string } {
  return {
    key: idempotencyKey(event, stream.dedupKeys.get(event.event_type)!),
    digest: contentDigest(event, stream.digestFields),
  };
}

function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}
