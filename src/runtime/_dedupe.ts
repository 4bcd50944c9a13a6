/**
 * Dedup: within the batch, against the batches in flight (processed, not yet committed), then
 * against the store. A key hit is verified by the content digest: the same digest is a duplicate
 * (dropped), another one a distinct event that shares the key (a collision: processed, counted,
 * logged once per key). Keys are committed to the store only once their batch is written
 * (`commit` in `_commit.ts`): `Pending` holds them meanwhile.
 * @module
 */
import type { DedupEntry } from "../core/component.ts";
import type { Envelope } from "../core/types.ts";
import { idempotencyKey } from "../dedup/mod.ts";
import type { Pipeline } from "./_compile.ts";
import type { Call } from "./_call.ts";

/** Keys processed but not yet committed, with their digests; keys whose collision was logged. */
export interface Pending {
  keys: Map<string, Set<string>>;
  logged: Set<string>;
}

export const pending = (): Pending => ({ keys: new Map(), logged: new Set() });

export async function dedupe(p: Pipeline, call: Call, pending: Pending, decoded: Envelope[]) {
  const inBatch = new Map<string, Set<string>>();
  const candidates: Envelope[] = [];
  const collided = new Set<Envelope>();
  let dropped = 0;
  for (const e of decoded) {
    const here = inBatch.get(e.key);
    const known = here ?? pending.keys.get(e.key);
    if (known?.has(e.digest) || (here && pending.keys.get(e.key)?.has(e.digest))) {
      dropped++;
      continue;
    }
    if (known) collided.add(e);
    if (here) here.add(e.digest);
    else inBatch.set(e.key, new Set([e.digest]));
    candidates.push(e);
  }
  const legacy = p.dedup.legacy === true;
  const entries = candidates.map((e) => dedupEntry(p, e, legacy));
  const verdicts = entries.length ? await call("dedup", () => p.dedup.seen(entries)) : [];
  const fresh: Envelope[] = [];
  candidates.forEach((e, i) => {
    if (verdicts[i] === "seen") return void dropped++;
    if (verdicts[i] === "collision") collided.add(e);
    fresh.push(e);
  });
  const t = p.telemetry;
  for (const e of collided) {
    t.add("dedup_collisions_total", 1, { stream: e.stream });
    if (!pending.logged.has(e.key) && pending.logged.size < 10_000) {
      pending.logged.add(e.key);
      p.ctx.log(
        "warn",
        `dedup key collision: ${e.stream} ${e.event.event_type} event "${e.event.event_id}" ` +
          `shares its idempotency key with another event whose content differs; processed ` +
          `(check the key fields: ics validate --keys)`,
        { component: "dedup", iteration_id: e.event.iteration_id, event_id: e.event.event_id },
      );
    }
  }
  t.add("dedup_dropped_total", dropped);
  return { fresh, collided };
}

/**
 * The entries to commit once the events are written, held as pending meanwhile. An entry whose
 * key already holds a digest (in the store, or pending) is a collision: its digest is added.
 */
export function hold(p: Pipeline, pending: Pending, events: Envelope[], collided: Set<Envelope>) {
  const entries = events.map((e) => ({ ...dedupEntry(p, e, false), collision: collided.has(e) }));
  for (const k of entries) {
    const digests = pending.keys.get(k.key);
    if (digests) digests.add(k.digest), k.collision = true;
    else pending.keys.set(k.key, new Set([k.digest]));
  }
  return entries;
}

/** The entries are committed (or given up): no longer pending. */
export function release(pending: Pending, entries: DedupEntry[]) {
  for (const k of entries) {
    const digests = pending.keys.get(k.key);
    digests?.delete(k.digest);
    if (digests?.size === 0) pending.keys.delete(k.key);
  }
}

/** An event's dedup entry; `legacy` adds its key in the earlier format where that differs. */
function dedupEntry(p: Pipeline, e: Envelope, legacy: boolean): DedupEntry {
  if (!legacy) return { key: e.key, digest: e.digest };
  const old = idempotencyKey(e.event, p.spec.streams.get(e.stream)!.legacyKey);
  return old === e.key
    ? { key: e.key, digest: e.digest }
    : { key: e.key, digest: e.digest, legacy: old };
}
