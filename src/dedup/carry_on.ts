/**
 * `dedup.on_unavailable: sink_idempotency`: a dedup store that never stops the pipeline.
 *
 * While the store fails transiently (Redis down), `seen()` answers from the keys this runner
 * committed during the outage (so duplicates within the outage are still dropped) and takes every
 * other key as unseen: a replay of an event processed before the outage goes through, and the
 * idempotent graph and metrics writes make an exact replay change nothing. `commit()` keeps the
 * keys in memory (at most {@link MAX_BACKLOG}, the oldest forgotten first) and the first call that
 * reaches the store again writes them there. The component is reported `degraded` meanwhile, with
 * a warning on the way down and a note on the way back; `ics_dedup_unchecked_total` counts the
 * keys taken as unseen unchecked.
 *
 * Under `pause` (the default) the store is used as is: the runtime retries its calls with backoff,
 * which stops consumption until it is back.
 * @module
 */
import type { Context, DedupEntry, DedupStore, DedupVerdict } from "../core/component.ts";
import { RetriableError } from "../core/errors.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** Keys remembered while the store is down: about 15 MB of 64-character hex keys. */
export const MAX_BACKLOG = 100_000;

export function carryOnWhenUnavailable(
  store: DedupStore,
  telemetry: Telemetry,
  log: Context["log"],
): DedupStore {
  const backlog = new Map<string, Set<string>>(); // key → digests committed under it
  let down: string | undefined;
  let overflowed = false;

  const unavailable = (error: RetriableError) => {
    if (down === undefined) {
      log(
        "warn",
        `dedup store unavailable, carrying on without it (on_unavailable: sink_idempotency; ` +
          `idempotent sinks absorb replays): ${error.message}`,
      );
    }
    down = error.message;
    telemetry.health.set("dedup", "degraded", `unavailable, keys taken as unseen: ${down}`);
  };

  /** The store answered: write what was committed meanwhile, then it is healthy again. */
  const back = async () => {
    if (down === undefined) return;
    let written = 0;
    while (backlog.size) { // commits made while a flush is on its way join the next one
      const keys = [...backlog.keys()];
      const entries: DedupEntry[] = [];
      for (const key of keys) {
        [...backlog.get(key)!].forEach((digest, i) =>
          entries.push({ key, digest, collision: i > 0 })
        );
      }
      await store.commit(entries);
      for (const k of keys) backlog.delete(k);
      written += keys.length;
    }
    log(
      "info",
      `dedup store available again; ${written} keys committed during the outage written to it`,
    );
    down = undefined;
    overflowed = false;
    telemetry.health.set("dedup", "ok");
  };

  const remember = (entries: DedupEntry[]) => {
    for (const e of entries) {
      const digests = backlog.get(e.key);
      if (digests) digests.add(e.digest);
      else backlog.set(e.key, new Set([e.digest]));
    }
    for (const k of backlog.keys()) {
      if (backlog.size <= MAX_BACKLOG) break;
      backlog.delete(k);
      if (!overflowed) {
        log(
          "warn",
          `dedup: over ${MAX_BACKLOG} keys committed during the outage; oldest forgotten`,
        );
      }
      overflowed = true;
    }
  };

  const transient = (error: unknown): error is RetriableError => error instanceof RetriableError;

  /** What the keys committed during the outage say of an entry. */
  const local = (e: DedupEntry): DedupVerdict => {
    const digests = backlog.get(e.key);
    return !digests ? "new" : digests.has(e.digest) ? "seen" : "collision";
  };

  return {
    async seen(entries) {
      try {
        const seen = await store.seen(entries);
        if (down === undefined) return seen;
        const known = entries.map(local); // before back() empties the backlog
        await back();
        return seen.map((s, i) => s === "seen" || known[i] === "new" ? s : known[i]);
      } catch (error) {
        if (!transient(error)) throw error;
        unavailable(error);
        const known = entries.map(local);
        telemetry.add("dedup_unchecked_total", known.filter((s) => s === "new").length);
        return known;
      }
    },
    async commit(entries) {
      if (down !== undefined) return remember(entries); // seen() brings the store back
      try {
        await store.commit(entries);
      } catch (error) {
        if (!transient(error)) throw error;
        unavailable(error);
        remember(entries);
      }
    },
    get legacy() {
      return store.legacy;
    },
    check: () => store.check(),
    async close() {
      try {
        await back();
      } catch {
        log(
          "warn",
          `dedup: ${backlog.size} keys committed during the outage never reached the store ` +
            `(replays of their events are absorbed by the idempotent sinks)`,
        );
      }
      await store.close();
    },
  };
}
