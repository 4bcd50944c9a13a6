/**
 * The Kafka source's `eachBatch`: a fetched kafkajs batch becomes runtime batches of at most
 * `max_batch_records`, handed over one at a time (rendezvous, see `_handoff.ts`); `eachBatch`
 * returns only once the runtime acknowledged them all, heartbeating meanwhile, and resolves each
 * acknowledged position so kafkajs fetches on from there.
 *
 * Every handed-over batch is "in flight" until acknowledged. When a heartbeat reports that the
 * group is rebalancing, the member still owns its partitions until it rejoins, and the group waits
 * for it (up to the rebalance timeout): so nothing more is handed over, and `eachBatch` waits,
 * heartbeating, until the runtime has written and committed the batches in flight before it lets
 * kafkajs rejoin. The partitions' next owner therefore starts from committed offsets and a graph
 * that holds every write of the previous owner. An in-flight batch goes stale (its
 * `offsets.topics` is emptied, so a transactional commit of it commits nothing, and its `ack()`
 * commits nothing) when that wait runs out, when a commit is refused (the member was already
 * evicted), when the new assignment lacks its partition, or when the source closes.
 *
 * Each batch carries the assignment epoch it was fetched in (one more per group join): a
 * consumer of the batches knows that state it derived in an earlier epoch may be stale.
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

/** ack() option: the offsets were committed elsewhere (a transaction); only release the batch. */
export interface AckOptions {
  committed?: boolean;
}

export interface BatcherOptions {
  group: string;
  maxRecords: number;
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
  /** Commit one partition's position (consumer.commitOffsets). */
  commit(topic: string, partition: number, offset: string): Promise<void>;
  /** Report a partition's consumer lag (messages behind the high watermark). */
  lag?(topic: string, partition: number, lag: number): void;
  /** How long a rebalance may wait for the batches in flight before they go stale. */
  revokeWaitMs: number;
}

interface InFlight {
  topic: string;
  partition: number;
  /** Offset to commit: last offset of the batch + 1. */
  commit: bigint;
  offsets: SourceOffsets;
  stale: boolean;
  /** Resolves true when acknowledged, false when released without a commit. */
  done: Promise<boolean>;
  settle(acked: boolean): void;
}

const EMPTY = new Uint8Array(0);
const DECODER = new TextDecoder();

export function createBatcher(o: BatcherOptions) {
  const inFlight = new Set<InFlight>();
  let epoch = 0;
  /** A heartbeat saw the group rebalancing: hand nothing more over until the member rejoined. */
  let rebalancing = false;

  const stale = (f: InFlight) => {
    f.stale = true;
    f.offsets.topics = [];
    f.settle(false);
  };
  const track = (topic: string, partition: number, commit: bigint): InFlight => {
    let resolve!: (acked: boolean) => void;
    const done = new Promise<boolean>((r) => resolve = r);
    const offsets = {
      group: o.group,
      topics: [{ topic, partitions: [{ partition, offset: commit.toString() }] }],
    };
    const f: InFlight = { topic, partition, commit, offsets, stale: false, done, settle: () => {} };
    f.settle = (acked) => {
      inFlight.delete(f);
      resolve(acked);
    };
    inFlight.add(f);
    return f;
  };

  async function ack(f: InFlight, options?: AckOptions): Promise<void> {
    if (f.stale) {
      o.log("warn", `kafka: ${f.topic}/${f.partition} was revoked; batch not committed`);
      return;
    }
    if (!options?.committed) {
      try {
        await o.commit(f.topic, f.partition, f.commit.toString());
      } catch (error) {
        if (!isRebalance(error)) throw kafkaError("committing offsets", error);
        o.log("warn", `kafka: rebalance while committing ${f.topic}/${f.partition}; not committed`);
        return stale(f);
      }
    }
    const drain = o.drain();
    drain?.advance(f.topic, f.partition, f.commit);
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

  async function eachBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload,
  ) {
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
    const handed: InFlight[] = [];
    let offered: { f: InFlight; b: SourceBatch; put: Promise<boolean> } | undefined;
    try {
      for (let i = 0; i < messages.length; i += o.maxRecords) {
        if (!isRunning() || isStale() || o.hand.closed || rebalancing) break;
        const chunk = messages.slice(i, i + o.maxRecords);
        const last = i + o.maxRecords >= messages.length;
        const commit = last ? end : BigInt(chunk[chunk.length - 1].offset) + 1n;
        const records = chunk.map((m) => record(topic, partition, m));
        if (o.schemas) await prefetch(records, heartbeat);
        const f = track(topic, partition, commit);
        const b: SourceBatch = {
          records,
          offsets: f.offsets,
          epoch,
          ack: (a?: AckOptions) => ack(f, a),
        };
        const put = o.hand.put(b);
        offered = { f, b, put };
        const taken = await whileBeating(put, heartbeat, o.beatMs);
        offered = undefined;
        if (!taken) {
          stale(f);
          break;
        }
        handed.push(f);
      }
      for (const f of handed) {
        const acked = await whileBeating(f.done, heartbeat, o.beatMs);
        if (!acked || !isRunning() || isStale()) break;
        resolveOffset((f.commit - 1n).toString());
      }
    } catch (error) {
      if (offered) {
        o.hand.withdraw(offered.b);
        // The runtime may have taken it just before the heartbeat failed.
        if (await offered.put) handed.push(offered.f);
        else stale(offered.f);
      }
      // A heartbeat found the group rebalancing. Until this member rejoins (kafkajs does on the
      // rethrown error) its partitions are still its own: let the runtime finish and commit what
      // it holds, so that the next owner neither redoes it nor races with its writes.
      if (isRebalance(error)) {
        rebalancing = true;
        await finish(handed, heartbeat);
      }
      for (const f of handed) if (inFlight.has(f)) stale(f);
      if (!isRebalance(error) && !isTransient(error)) o.hand.fail(error as Error);
      throw error;
    }
    for (const f of handed) if (inFlight.has(f)) stale(f);
  }

  /**
   * Wait, heartbeating (a member that beats stays in the group while it rebalances), until the
   * runtime acknowledged these batches or the rebalance cannot wait any longer.
   */
  async function finish(handed: InFlight[], heartbeat: () => Promise<void>) {
    const open = handed.filter((f) => inFlight.has(f));
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
    const left = open.filter((f) => inFlight.has(f)).length;
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
    releaseAll: () => [...inFlight].forEach(stale),
    /**
     * The member (re)joined the group: a new epoch. Batches of partitions no longer assigned go
     * stale (normally none is left: a rebalance waits for them).
     */
    reassigned(assignment: Record<string, number[]>) {
      epoch++;
      rebalancing = false;
      for (const f of inFlight) if (!assignment[f.topic]?.includes(f.partition)) stale(f);
    },
    /** The current assignment epoch (0 before the first join). */
    epoch: () => epoch,
  };
}
