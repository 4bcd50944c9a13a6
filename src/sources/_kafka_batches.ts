/**
 * The Kafka source's `eachBatch`: the records kafkajs fetched, for every partition the member
 * owns, are gathered into runtime batches (`_gather.ts`) of at most `max_batch_records`, closed
 * when full, `max_wait_ms` after their first record, or as soon as the fetch's records are all in.
 * Closed batches are handed over one at a time, in order (rendezvous, see `_handoff.ts`). Each
 * `eachBatch` (one per partition, run concurrently) returns only once the runtime acknowledged
 * every batch holding its records, heartbeating meanwhile, and resolves each acknowledged
 * position so kafkajs fetches on from there. A batch's offsets cover every partition it holds;
 * its `ack()` commits them all at once.
 *
 * Every handed-over batch is "in flight" until acknowledged. When a heartbeat reports that the
 * group is rebalancing, the member still owns its partitions until it rejoins, and the group waits
 * for it (up to the rebalance timeout): so nothing more is handed over (the batch being gathered
 * and those not taken yet are dropped: their records are read again), and `eachBatch` waits,
 * heartbeating, until the runtime has written and committed the batches in flight before it lets
 * kafkajs rejoin. The partitions' next owner therefore starts from committed offsets and a graph
 * that holds every write of the previous owner. An in-flight batch goes stale (its
 * `offsets.topics` is emptied, so a transactional commit of it commits nothing, and its `ack()`
 * commits nothing) when that wait runs out, when a commit is refused (the member was already
 * evicted), when the new assignment lacks one of its partitions, or when the source closes.
 * A stale batch leaves all its partitions unresolved: each is read again (at least once).
 *
 * Each batch carries the assignment epoch it was gathered in (one more per group join): a
 * consumer of the batches knows that state it derived in an earlier epoch may be stale. Nothing
 * gathered in an earlier epoch is handed over after a join.
 * @module
 */
import type { EachBatchPayload, KafkaMessage } from "kafkajs";
import type { SourceBatch, SourceOffsets } from "../core/component.ts";
import type { RawRecord } from "../core/types.ts";
import { RetriableError } from "../core/errors.ts";
import { headerStrings, isRebalance, isTransient, kafkaError } from "../kafka/mod.ts";
import type { SchemaCache } from "../codecs/confluent.ts";
import type { Handoff } from "./_handoff.ts";
import { whileBeating } from "./_handoff.ts";
import type { Drain } from "./_kafka_drain.ts";
import { type Clock, type Gathered, gatherer, partKey } from "./_gather.ts";

/** ack() option: the offsets were committed elsewhere (a transaction); only release the batch. */
export interface AckOptions {
  committed?: boolean;
}

export interface BatcherOptions {
  group: string;
  maxRecords: number;
  /** How long a batch may gather after its first record (0: one partition per batch). */
  maxWaitMs: number;
  beatMs: number;
  hand: Handoff<SourceBatch>;
  drain: () => Drain | undefined;
  /** Where a partition starts (`ics replay --from`): records below it are never handed over. */
  from?: (topic: string, partition: number) => bigint | undefined;
  schemas?: SchemaCache;
  format: RawRecord["format"];
  /** Topic → stream. */
  streamOf: Map<string, string>;
  log: (level: "info" | "warn" | "error", message: string) => void;
  /** Commit partitions' positions at once (consumer.commitOffsets). */
  commit(positions: { topic: string; partition: number; offset: string }[]): Promise<void>;
  /** Report a partition's consumer lag (messages behind the high watermark). */
  lag?(topic: string, partition: number, lag: number): void;
  /** How long a rebalance may wait for the batches in flight before they go stale. */
  revokeWaitMs: number;
  /** Timers of the gathering (tests). */
  clock?: Clock;
}

/** A gathered batch with what the hand-over adds. */
type InFlight = Gathered<RawRecord> & {
  offsets?: SourceOffsets;
  epoch?: number;
  stale?: boolean;
};

const EMPTY = new Uint8Array(0);
const DECODER = new TextDecoder();
const offsetOf = (r: RawRecord) => BigInt((r.position as { offset: string }).offset);

export function createBatcher(o: BatcherOptions) {
  const inFlight = new Set<InFlight>();
  let epoch = 0;
  /** A heartbeat saw the group rebalancing: hand nothing more over until the member rejoined. */
  let rebalancing = false;
  /** Closed batches not handed over yet, in order; `offering` is being handed over. */
  const queue: InFlight[] = [];
  let offering: SourceBatch | undefined;
  let pumping = false;

  const stale = (f: InFlight) => {
    f.stale = true;
    if (f.offsets) f.offsets.topics = [];
    inFlight.delete(f);
    f.settle(false);
  };

  const gather = gatherer<RawRecord>({
    maxRecords: o.maxRecords,
    maxWaitMs: o.maxWaitMs,
    clock: o.clock,
    onClose(g: InFlight) {
      if (rebalancing || o.hand.closed) return stale(g);
      const byTopic = new Map<string, { partition: number; offset: string }[]>();
      for (const { topic, partition, end } of g.ends.values()) {
        const list = byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!;
        list.push({ partition, offset: end.toString() });
      }
      g.epoch = epoch; // a join drops the batch being gathered: it was opened in this epoch
      g.offsets = {
        group: o.group,
        topics: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })),
      };
      inFlight.add(g);
      queue.push(g);
      void pump();
    },
  });

  /** Hand the closed batches over, one at a time (the runtime pulls them). */
  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      for (let f = queue.shift(); f; f = queue.shift()) {
        if (f.stale) continue;
        const b: SourceBatch = {
          records: f.records,
          offsets: f.offsets,
          epoch: f.epoch,
          ack: (a?: AckOptions) => ack(f, a),
        };
        offering = b;
        const taken = await o.hand.put(b);
        offering = undefined;
        if (!taken) stale(f);
      }
    } finally {
      pumping = false;
    }
  }

  /** Hand nothing more over: drop the batch being gathered and those not taken yet. */
  function hold() {
    gather.discard();
    for (const f of queue.splice(0)) stale(f);
    if (offering) o.hand.withdraw(offering); // its put resolves false: stale
  }

  async function ack(f: InFlight, options?: AckOptions): Promise<void> {
    const where = () => [...f.ends.keys()].join(", ");
    if (f.stale) {
      o.log("warn", `kafka: ${where()} was revoked; batch not committed`);
      return;
    }
    if (!options?.committed) {
      try {
        await o.commit(
          [...f.ends.values()].map((p) => ({
            topic: p.topic,
            partition: p.partition,
            offset: p.end.toString(),
          })),
        );
      } catch (error) {
        if (!isRebalance(error)) throw kafkaError("committing offsets", error);
        o.log("warn", `kafka: rebalance while committing ${where()}; not committed`);
        return stale(f);
      }
    }
    const drain = o.drain();
    for (const p of f.ends.values()) drain?.advance(p.topic, p.partition, p.end);
    inFlight.delete(f);
    f.settle(true);
    if (drain?.done()) o.hand.close();
  }

  const record = (topic: string, partition: number, m: KafkaMessage): RawRecord => ({
    stream: o.streamOf.get(topic),
    ...(m.key ? { key: DECODER.decode(m.key) } : {}),
    value: m.value ?? EMPTY,
    format: o.format,
    ...(m.headers && Object.keys(m.headers).length ? { headers: headerStrings(m.headers) } : {}),
    position: { kind: "kafka", topic, partition, offset: m.offset },
  });

  /** Writer schemas of a batch, retried while the registry is unreachable. */
  async function prefetch(records: RawRecord[], beat: () => Promise<void>) {
    for (let attempt = 1; !o.hand.closed; attempt++) {
      try {
        return await whileBeating(o.schemas!.prefetch(records), beat, o.beatMs);
      } catch (error) {
        if (!(error instanceof RetriableError)) throw error;
        o.log("warn", `kafka: ${error.message} (attempt ${attempt}, retrying)`);
        const wait = Math.min(30_000, 250 * 2 ** attempt);
        await whileBeating(new Promise((r) => setTimeout(r, wait)), beat, o.beatMs);
      }
    }
  }

  /** This partition's records, ready to gather (undefined: nothing to gather). */
  async function recordsOf(
    { batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload,
  ): Promise<{ records: RawRecord[]; end: bigint } | undefined> {
    const { topic, partition } = batch;
    o.lag?.(topic, partition, Number(batch.offsetLag()));
    let messages = batch.messages;
    let end = BigInt(batch.lastOffset()) + 1n; // past trailing transaction markers too
    const drain = o.drain();
    const target = drain?.target(topic, partition);
    if (drain && (target === undefined || drain.reached(topic, partition))) return void pause();
    if (target !== undefined && end > target) {
      messages = messages.filter((m) => BigInt(m.offset) < target);
      end = target;
      if (messages.length === 0) return void pause();
    }
    const from = o.from?.(topic, partition);
    if (from !== undefined && messages.length && BigInt(messages[0].offset) < from) {
      // A restarted consumer forgot its seek: skip to the start without handing anything over.
      messages = messages.filter((m) => BigInt(m.offset) >= from);
      if (messages.length === 0) return void resolveOffset((end - 1n).toString());
    }
    if (messages.length === 0) return;
    const records = messages.map((m) => record(topic, partition, m));
    if (o.schemas) await prefetch(records, heartbeat);
    if (!isRunning() || isStale() || o.hand.closed || rebalancing) return;
    return { records, end };
  }

  async function eachBatch(payload: EachBatchPayload) {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const key = partKey(topic, partition);
    // Synchronously at entry: the gathering knows that this partition's records are coming.
    const leave = gather.enter();
    let mine: InFlight[] = [];
    try {
      const got = await recordsOf(payload);
      if (!got) return;
      mine = gather.add(topic, partition, got.records, offsetOf, got.end);
    } catch (error) {
      if (isRebalance(error)) { // a heartbeat while fetching writer schemas
        rebalancing = true;
        hold();
      } else if (!isTransient(error)) o.hand.fail(error as Error);
      throw error;
    } finally {
      leave();
    }
    try {
      for (const f of mine) {
        const acked = await whileBeating(f.done, heartbeat, o.beatMs);
        if (!acked || !isRunning() || isStale()) break;
        resolveOffset((f.ends.get(key)!.end - 1n).toString());
      }
    } catch (error) {
      // A heartbeat found the group rebalancing. Until this member rejoins (kafkajs does on the
      // rethrown error) its partitions are still its own: let the runtime finish and commit what
      // it holds, so that the next owner neither redoes it nor races with its writes.
      if (isRebalance(error)) {
        rebalancing = true;
        hold();
        await finish(mine, heartbeat);
      }
      for (const f of mine) if (!f.settled) stale(f);
      if (!isRebalance(error) && !isTransient(error)) o.hand.fail(error as Error);
      throw error;
    }
    for (const f of mine) if (!f.settled) stale(f);
  }

  /**
   * Wait, heartbeating (a member that beats stays in the group while it rebalances), until the
   * runtime acknowledged these batches or the rebalance cannot wait any longer.
   */
  async function finish(mine: InFlight[], heartbeat: () => Promise<void>) {
    const open = mine.filter((f) => !f.settled);
    if (open.length === 0) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((r) => timer = setTimeout(r, o.revokeWaitMs));
    const beat = () => heartbeat().catch(() => {}); // it reports the rebalance each time
    try {
      await whileBeating(
        Promise.race([Promise.all(open.map((f) => f.done)), expired]),
        beat,
        o.beatMs,
      );
    } finally {
      clearTimeout(timer);
    }
    const left = open.filter((f) => !f.settled).length;
    if (left) {
      o.log(
        "warn",
        `kafka: rebalance: ${left} batch(es) still unwritten after ${o.revokeWaitMs} ms; ` +
          "rejoining without committing them (their partitions' next owner reads them again)",
      );
    }
  }

  return {
    eachBatch,
    /** Release every batch in flight without committing it (closing). */
    releaseAll() {
      hold();
      [...inFlight].forEach(stale);
    },
    /**
     * The member (re)joined the group: a new epoch. Nothing gathered before is handed over any
     * more; batches of partitions no longer assigned go stale (normally none is left: a
     * rebalance waits for them).
     */
    reassigned(assignment: Record<string, number[]>) {
      hold();
      epoch++;
      rebalancing = false;
      for (const f of inFlight) {
        const lost = [...f.ends.values()].some((p) => !assignment[p.topic]?.includes(p.partition));
        if (lost) stale(f);
      }
    },
    /** The current assignment epoch (0 before the first join). */
    epoch: () => epoch,
  };
}
