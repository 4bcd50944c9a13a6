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

export function createMemoryStore(
  maxEntries: number,
  ttlSeconds: number,
  now: () => number = Date.now,
): DedupStore {
  const expiry = new Map<string, number>();
  return {
    seen(keys) {
      const t = now();
      return Promise.resolve(keys.map((key) => {
        const until = expiry.get(key);
        if (until === undefined) return false;
        if (until > t) return true;
        expiry.delete(key);
        return false;
      }));
    },
    commit(keys) {
      const until = now() + ttlSeconds * 1000;
      for (const key of keys) {
        expiry.delete(key); // re-insert at the end: it is now the newest
        expiry.set(key, until);
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
