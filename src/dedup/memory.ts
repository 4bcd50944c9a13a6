/**
 * In-memory dedup store: a TTL per key and a bound on entries. When full, the oldest keys are
 * forgotten first (a Map iterates in insertion order), so memory never grows without bound; a
 * forgotten key can only let a very old duplicate through, which the idempotent sinks absorb.
 * @module
 */
import { z } from "zod";
import type { ComponentDef, DedupEntry, DedupStore, DedupVerdict } from "../core/component.ts";

export const schema = z.strictObject({
  type: z.literal("memory"),
  max_entries: z.number().int().min(1).default(1_000_000).describe(
    "Keys kept at most; the oldest are forgotten first.",
  ),
}).describe("Keep idempotency keys in process memory (lost on restart).");

/**
 * 128 bits of a hex digest as eight UTF-16 code units of 16 bits each: one new flat string (not a
 * slice pinning the original), a quarter of the hex text's memory.
 */
function compact(hex: string): string {
  if (hex.length < 32) return hex;
  const unit = (i: number) => parseInt(hex.slice(i, i + 4), 16);
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

/**
 * An entry's value is one string: its expiry in whole epoch seconds as two 16-bit code units,
 * then the compact digests seen under the key, eight units each (usually one).
 */
const expiryOf = (v: string) => v.charCodeAt(0) * 0x10000 + v.charCodeAt(1);
const withExpiry = (until: number, digests: string) =>
  String.fromCharCode(Math.floor(until / 0x10000), until % 0x10000) + digests;

function holds(value: string, digest: string): boolean {
  for (let i = 2; i < value.length; i += 8) if (value.startsWith(digest, i)) return true;
  return false;
}

export function createMemoryStore(
  maxEntries: number,
  ttlSeconds: number,
  now: () => number = Date.now,
): DedupStore {
  const entries = new Map<string, string>(); // compact key → expiry + digests
  const live = (k: string): string | undefined => {
    const v = entries.get(k);
    if (v === undefined) return undefined;
    if (expiryOf(v) > now() / 1000) return v;
    entries.delete(k);
    return undefined;
  };
  return {
    seen(batch) {
      return Promise.resolve(batch.map((e): DedupVerdict => {
        const v = live(compact(e.key));
        if (v === undefined) return "new";
        return holds(v, compact(e.digest)) ? "seen" : "collision";
      }));
    },
    commit(batch: DedupEntry[]) {
      const until = Math.floor(now() / 1000) + ttlSeconds;
      for (const e of batch) {
        const k = compact(e.key);
        const d = compact(e.digest);
        const v = live(k);
        const digests = v === undefined ? d : holds(v, d) ? v.slice(2) : v.slice(2) + d;
        entries.delete(k); // re-insert at the end: it is now the newest
        entries.set(k, withExpiry(until, digests));
      }
      for (const key of entries.keys()) {
        if (entries.size <= maxEntries) break;
        entries.delete(key);
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
