/**
 * Gathering records of several partitions into one runtime batch (`batch.max_events` +
 * `batch.timeout` in Kafka Connect / Vector terms). The open batch closes, whichever first:
 *
 * - full: it holds `maxRecords` records (a part that does not fit continues in the next batch);
 * - time: `maxWaitMs` passed since its first record;
 * - quiet: every adder that started has added its records, and none started in the meantime
 *   (checked one timer turn later). kafkajs calls `eachBatch` for all partitions of one fetch
 *   response at once and fetches again only when they all returned, so no record can come before
 *   this batch is acknowledged: waiting longer would only add latency. The waiting for records
 *   happens at the broker instead (fetch `minBytes` / `maxWaitTimeInMs`, see `_kafka_fetch.ts`).
 *
 * `maxWaitMs: 0` gathers nothing: each part closes its own batches (one partition per batch, the
 * behaviour before batches gathered partitions).
 *
 * A batch remembers, per partition, the offset to commit after it (its last record's offset + 1,
 * or the fetched batch's end when it holds the part's last record: past trailing transaction
 * markers). Closed batches reach `onClose` in the order they closed, so records of one partition
 * stay in order across batches.
 * @module
 */

/** One partition's place in a batch. */
export interface PartEnd {
  topic: string;
  partition: number;
  /** The offset to commit once the batch is written: next offset to read. */
  end: bigint;
}

export interface Gathered<R> {
  records: R[];
  /** "topic/partition" → where the partition stands after this batch. */
  ends: Map<string, PartEnd>;
  openedAt: number;
  closedBy?: "full" | "time" | "quiet" | "part";
  /** Resolves true once acknowledged, false when released without a commit. */
  done: Promise<boolean>;
  settle(acked: boolean): void;
  settled: boolean;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

export interface GatherOptions<R> {
  maxRecords: number;
  maxWaitMs: number;
  /** A batch closed: hand it over (called in closing order). */
  onClose(batch: Gathered<R>): void;
  clock?: Clock;
}

export const partKey = (topic: string, partition: number) => `${topic}/${partition}`;

export function gathered<R>(openedAt: number): Gathered<R> {
  let resolve!: (acked: boolean) => void;
  const g: Gathered<R> = {
    records: [],
    ends: new Map(),
    openedAt,
    done: new Promise<boolean>((r) => resolve = r),
    settled: false,
    settle(acked) {
      if (g.settled) return;
      g.settled = true;
      resolve(acked);
    },
  };
  return g;
}

export function gatherer<R>(o: GatherOptions<R>) {
  const clock = o.clock ?? realClock;
  let open: Gathered<R> | undefined;
  let timer: unknown;
  let quietTimer: unknown;
  /** Adders between `enter()` and their `leave()`. */
  let adding = 0;

  const close = (why: NonNullable<Gathered<R>["closedBy"]>) => {
    const g = open;
    if (!g) return;
    open = undefined;
    clock.clearTimeout(timer);
    timer = undefined;
    g.closedBy = why;
    o.onClose(g);
  };

  const openBatch = () => {
    const g = gathered<R>(clock.now());
    open = g;
    if (o.maxWaitMs > 0) timer = clock.setTimeout(() => open === g && close("time"), o.maxWaitMs);
    return g;
  };

  return {
    /** An adder starts (synchronously, at `eachBatch`'s entry); call the result when it left. */
    enter(): () => void {
      adding++;
      let left = false;
      return () => {
        if (left) return;
        left = true;
        if (--adding > 0 || !open) return;
        clock.clearTimeout(quietTimer);
        quietTimer = clock.setTimeout(() => {
          if (adding === 0) close("quiet");
        }, 0);
      };
    },
    /**
     * Add one partition's records (in offset order); `end` is where the partition stands after
     * the last of them. Returns the batches they went into, oldest first (the last may be open).
     */
    add(topic: string, partition: number, records: R[], offsetOf: (r: R) => bigint, end: bigint) {
      const key = partKey(topic, partition);
      const into: Gathered<R>[] = [];
      for (let i = 0; i < records.length;) {
        const g = open ?? openBatch();
        const n = Math.min(o.maxRecords - g.records.length, records.length - i);
        for (let j = 0; j < n; j++) g.records.push(records[i + j]);
        i += n;
        const last = i >= records.length;
        g.ends.set(key, { topic, partition, end: last ? end : offsetOf(records[i - 1]) + 1n });
        into.push(g);
        if (g.records.length >= o.maxRecords) close("full");
        else if (last && o.maxWaitMs === 0) close("part");
      }
      return into;
    },
    /** Drop the open batch without closing it (rebalance, close); returns it, settled false. */
    discard(): Gathered<R> | undefined {
      const g = open;
      open = undefined;
      clock.clearTimeout(timer);
      g?.settle(false);
      return g;
    },
    /** The open batch's size, for tests and logs. */
    openSize: () => open?.records.length ?? 0,
  };
}
