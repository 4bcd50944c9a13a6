/**
 * The live phases of `bench/services.ts`: events produced at a fixed rate to the run's topics
 * while the pipeline runs live, each event's hand-over to the producer recorded, and its end-to-end
 * latency (commit of its batch − hand-over, both `Date.now()` on this machine) computed from what
 * the pipeline process recorded. Also the bare kafkajs consumer baseline.
 * @module
 */
import type { Admin, Kafka } from "kafkajs";
import type { CompiledSpec } from "../src/compiler/mod.ts";
import type { Registry } from "../src/schema_registry/mod.ts";
import { produce } from "../src/cli/produce.ts";
import { createDecoder } from "../src/codecs/mod.ts";
import { identify } from "../src/dedup/mod.ts";
import { lag, percentile } from "./_services_setup.ts";

const TICK_MS = 20;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Stats {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  count: number;
}

export const stats = (xs: number[]): Stats => ({
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  p99: percentile(xs, 99),
  max: xs.reduce((a, b) => Math.max(a, b), -Infinity),
  count: xs.length,
});

/** Aborted when the run is interrupted: producing stops before the topics are deleted. */
export const producing = new AbortController();

/** The lines for produce(); with `stamp`, paced at `rate` and each hand-over time recorded. */
export async function* lines(list: Uint8Array[], stamp?: number[], rate = 0) {
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const t0 = performance.now();
  for (let i = 0; i < list.length && !producing.signal.aborted; i++) {
    if (stamp && i % perTick === 0) {
      const wait = t0 + (i / rate) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    if (stamp) stamp[i] = Date.now();
    yield { line: i + 1, bytes: list[i] };
  }
}

export interface LiveContext {
  spec: CompiledSpec;
  kafka: Kafka;
  admin: Admin;
  registry: Registry;
  /** Stream → topic. */
  topics: Record<string, string>;
  group: string;
  /** The pipeline process, to notice that it ended. */
  process: () => Deno.ChildProcess | undefined;
  onInvalid: (line: number, reason: string) => void;
}

/** Wait until the group committed everything in the topics; false when `timeoutMs` passed first. */
export async function untilCaughtUp(
  c: LiveContext,
  what: string,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  const topics = Object.values(c.topics);
  while (await lag(c.admin, c.group, topics) > 0) {
    if (performance.now() > deadline) return false;
    const child = c.process();
    if (
      child && await Promise.race([child.status.then(() => true), sleep(100).then(() => false)])
    ) {
      throw new Error(`${what}: the pipeline process ended`);
    }
  }
  return true;
}

export interface Phase {
  rate: number;
  /** Idempotency key of each event, in order. */
  keys: string[];
  /** Hand-over of each event to the producer (Date.now()). */
  sentAt: number[];
  /** Events per second the producer achieved. */
  achieved: number;
  /** When the phase began (first hand-over) and ended (caught up, or given up: Date.now()). */
  startedAt: number;
  endedAt: number;
  caughtUp: boolean;
}

/** The idempotency key of each event (what the pipeline process records at commit). */
export function keysOf(spec: CompiledSpec, list: Uint8Array[]): string[] {
  const decode = createDecoder(spec);
  return list.map((value, i) => {
    const d = decode({ value, format: "json", position: { kind: "file", path: "-", line: i } });
    if (!d.ok) throw new Error(`live corpus event ${i}: ${d.reason}`);
    return identify(spec.streams.get(d.stream)!, d.event).key;
  });
}

/**
 * Produce `list` (whose keys are `keys`) at `rate` events/s, then wait for the pipeline to commit
 * them all, at most `catchUpMs`.
 */
export async function paced(
  c: LiveContext,
  list: Uint8Array[],
  keys: string[],
  rate: number,
  catchUpMs: number,
): Promise<Phase> {
  const sentAt: number[] = new Array(list.length);
  await produce({
    spec: c.spec,
    kafka: c.kafka,
    registry: c.registry,
    streamTopics: c.topics,
    lines: lines(list, sentAt, rate),
    batch: Math.max(1, Math.round((rate * TICK_MS) / 1000)),
    onInvalid: c.onInvalid,
  });
  const achieved = (list.length - 1) / ((sentAt[sentAt.length - 1] - sentAt[0]) / 1000);
  const caughtUp = await untilCaughtUp(c, `live at ${rate} events/s`, catchUpMs);
  return { rate, keys, sentAt, achieved, startedAt: sentAt[0], endedAt: Date.now(), caughtUp };
}

export interface Latency extends Stats {
  /** Events not committed when the phase ended: their latencies are lower bounds. */
  pending: number;
}

/**
 * Latency per event of a phase. One not committed when the phase ended took at least
 * (end − hand-over): as a lower bound it still bounds every percentile from below (order
 * statistics are monotone).
 */
export function latencyOf(phase: Phase, committedAt: Map<string, number>): Latency {
  const latencies: number[] = [];
  let pending = 0;
  phase.keys.forEach((k, i) => {
    let at = committedAt.get(k);
    if (at === undefined || at > phase.endedAt) pending++, at = phase.endedAt;
    latencies.push(at - phase.sentAt[i]);
  });
  return { ...stats(latencies), pending };
}

/** A bare kafkajs consumer reading every record of the topics once, as the ics source would. */
export async function bareConsume(
  kafka: Kafka,
  group: string,
  topics: string[],
  total: number,
): Promise<{ n: number; ms: number; firstMs: number }> {
  const t0 = performance.now();
  const c = kafka.consumer({ groupId: group, maxWaitTimeInMs: 500 });
  await c.connect();
  try {
    await c.subscribe({ topics, fromBeginning: true });
    let n = 0, first = 0, timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`bare consumer read only ${n}`)), 180_000);
      c.run({
        partitionsConsumedConcurrently: 4, // as the ics source
        eachBatch: ({ batch }) => {
          first ||= performance.now();
          n += batch.messages.length;
          if (n >= total) resolve();
          return Promise.resolve();
        },
      }).catch(reject);
    }).finally(() => clearTimeout(timer));
    const t1 = performance.now();
    return { n, ms: t1 - t0, firstMs: t1 - first };
  } finally {
    await c.disconnect();
  }
}
