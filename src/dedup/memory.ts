/**
 * In-memory dedup store: a TTL per key and a bound on entries. When full, the oldest keys are
 * forgotten first (a Map iterates in insertion order), so memory never grows without bound; a
 * forgotten key can only let a very old duplicate through, which the idempotent sinks absorb.
 * @module
 */
import { z } from "zod";
import type { ComponentDef, DedupStore } from "../core/component.ts";

export const schema = z.strictObject({
  type: z.literal("memory"),
  max_entries: z.number().int().min(1).default(1_000_000).describe(
    "Keys kept at most; the oldest are forgotten first.",
  ),
}).describe("Keep idempotency keys in process memory (lost on restart).");

/**
 * Keys are kept compact: the first 128 bits of the hex digest as an 8-character string (a fresh
 * flat string, not a slice pinning the 64-character original), and the expiry in whole
 * seconds (a small integer, no boxed number): about a third of the memory per key.
 */
function compact(key: string): string {
  if (key.length !== 64) return key;
  // 128 bits as eight UTF-16 code units of 16 bits each: one new flat 8-character string.
  const unit = (i: number) => parseInt(key.slice(i, i + 4), 16);
  return String.fromCharCode(
    unit(0),
    unit(4),
    unit(8),
    unit(12),
    unit(16),
    unit(20),
    unit(24),
    unit(28),
  );
}

export function createMemoryStore(
  maxEntries: number,
  ttlSeconds: number,
  now: () => number = Date.now,
): DedupStore {
  const expiry = new Map<string, number>(); // compact key → expiry, epoch seconds
  const seconds = () => Math.floor(now() / 1000);
  return {
    seen(keys) {
      const t = now() / 1000;
      return Promise.resolve(keys.map((key) => {
        const k = compact(key);
        const until = expiry.get(k);
        if (until === undefined) return false;
        if (until > t) return true;
        expiry.delete(k);
        return false;
      }));
    },
    commit(keys) {
      const until = seconds() + ttlSeconds;
      for (const key of keys) {
        const k = compact(key);
        expiry.delete(k); // re-insert at the end: it is now the newest
        expiry.set(k, until);
      }
      for (const key of expiry.keys()) {
        if (expiry.size <= maxEntries) break;
        expiry.delete(key);
      }
      return Promise.resolve();
    },
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

export const memory: ComponentDef<typeof schema, DedupStore, { ttl_seconds: number }> = {
  type: "memory",
  schema,
  create: (config, ctx) => Promise.resolve(createMemoryStore(config.max_entries, ctx.ttl_seconds)),
};
