/**
 * The runtime: the whole data flow in one file.
 *
 * ```
 * source ─batches─► process: decode → dedup → map → correlate ─► [bounded queue] ─►
 *   write: graph ∥ metrics (retried) ─► commit: dead letters + source ack ─► dedup keys
 * ```
 *
 * `compile()` (`_compile.ts`) turns a loaded spec and a target name into a {@link Pipeline} of
 * components; `run()` moves batches through it, one stage module each (`_decode.ts`,
 * `_dedupe.ts`, `_map.ts`, `_correlate.ts`, `_write.ts`, `_commit.ts`). Processing and writing
 * overlap: batch n+1 is decoded, deduplicated, mapped and correlated while batch n is written;
 * the queue between them is bounded (`runtime.queue_batches`), so a slow sink pauses the source.
 * Long synchronous stages give the event loop a turn every few milliseconds (`core/breathe.ts`),
 * so replies and heartbeats are not held up by a big batch.
 *
 * Input is acknowledged only after every sink acknowledged the batch, and a dedup key is marked
 * seen only then, so a crash at any point loses nothing; the sinks' idempotent writes and the
 * graph model's rebuild-from-store make replays change nothing.
 *
 * The correlation policy in force and the graph model it builds are one immutable value
 * (`_correlation.ts`), replaced whole: by a policy reload (`run --watch`) once the batches in
 * flight are written; by a refused write (the model applied what the store does not hold); by a
 * new assignment `epoch` of a log source (another instance may have written to the cached
 * iterations meanwhile). A batch correlated under an older value is applied again before it is
 * written, and nothing is correlated on a new value before the older batches are written, so the
 * model always sees batches in source order.
 *
 * Faults: every store and sink call is retried while it fails transiently (`_call.ts`: capped
 * exponential backoff, full jitter, no limit; the bounded queue then pauses consumption). A write
 * refused for good is split until the refused events stand alone, which are dead-lettered
 * (`_write.ts`).
 * @module
 */
import type { DedupEntry, Fence, SourceBatch } from "../core/component.ts";
import type { DeadLetter, Envelope, RawRecord } from "../core/types.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import type { BatchTrace } from "../telemetry/tracing.ts";
import { fault } from "../core/fault.ts";
import { FencedError } from "../core/errors.ts";
import type { Pipeline } from "./_compile.ts";
import { createCall } from "./_call.ts";
import { type Correlation, correlation, rebuilt } from "./_correlation.ts";
import { boundedQueue } from "./_queue.ts";
import { type Letters, letters } from "./_letters.ts";
import { decode } from "./_decode.ts";
import { dedupe, hold, type Pending, pending, release } from "./_dedupe.ts";
import { map, type Observed } from "./_map.ts";
import { type Applied, correlate } from "./_correlate.ts";
import { type Model, write } from "./_write.ts";
import { commit, count } from "./_commit.ts";
import { fenceOf, type Fencing, fencing } from "./_fence.ts";

export { compile, type CompileOptions, lockGraphState, type Pipeline } from "./_compile.ts";
export { countingNearMisses } from "./_correlation.ts";

export interface RunResult {
  elapsed_ms: number;
  telemetry: Telemetry;
}

export interface RunOptions {
  /**
   * Called between batches; a returned spec becomes the new correlation policy (`run --watch`).
   * The swap waits until every batch in flight is written, so each batch is correlated and written
   * under one policy, and links made after it carry the new policy hash.
   */
  reload?: () => Promise<CompiledSpec | undefined>;
  /** Called once a batch is written (every sink holds it): `ics dlq redrive` reports from it. */
  written?: (batch: { records: RawRecord[]; events: Envelope[]; dead: DeadLetter[] }) => void;
}

/** A processed batch on its way to the sinks. */
interface Processed {
  batch: SourceBatch;
  /** The events mapped, and what they say (applied again if the model is replaced meanwhile). */
  observed: Observed;
  applied: Applied;
  dead: Letters;
  /** The dedup entries of `observed.events`, committed once the batch is written. */
  keys: DedupEntry[];
  /** The claims its graph writes carry (a log source's batch; `_fence.ts`). */
  fence?: Fence;
  started: number;
  trace: BatchTrace;
}

/** What the producer (source → process) and the writer (→ sinks) of a run share. */
interface Flow extends Model {
  pending: Pending;
  fencing: Fencing;
  /** Batches taken from the source and not yet written. */
  inFlight: number;
  /** Resolves once at most `n` batches are in flight; rejects if the writer failed. */
  settled(n: number): Promise<void>;
  /** The generation of the correlation the producer last correlated under. */
  correlatedUnder: number;
}

/** Run until the source ends or the signal aborts; the batch in flight is always finished. */
export async function run(
  p: Pipeline,
  signal: AbortSignal = new AbortController().signal,
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const call = createCall(p.telemetry, p.ctx.log, p.spec.spec.runtime.retry, signal);
  const queue = boundedQueue<Processed>(p.spec.spec.runtime.queue_batches);
  const lag = p.telemetry.watchEventLoop();
  let current = correlation(p.spec, p.modelStore, p.telemetry, undefined, p.target);
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  const flow: Flow = {
    pending: pending(),
    fencing: fencing(),
    inFlight: 0,
    async settled(n) {
      while (this.inFlight > n) {
        if (failure) throw failure.error;
        await new Promise<void>((r) => wake = r);
      }
    },
    correlatedUnder: current.generation,
    current: () => current,
    rebuild: () => current = rebuilt(current, p.modelStore),
  };
  let epoch: number | undefined;

  const producer = (async () => {
    try {
      for await (const batch of p.source.batches(signal)) {
        const next = await options.reload?.();
        // A new assignment epoch: iterations may have been written by another instance since
        // they were cached. Forget them once the batches in flight are written; they reload from
        // the store on their next event.
        const moved = batch.epoch !== epoch && epoch !== undefined;
        epoch = batch.epoch;
        if (next || moved) await flow.settled(0);
        if (next) current = swapped(p, current, next);
        else if (moved) flow.rebuild();
        if (moved) flow.fencing.claims.clear(); // this assignment's parts are claimed anew
        flow.inFlight++;
        await queue.put(await processBatch(p, call, flow, batch));
        if (signal.aborted) break;
      }
    } finally {
      queue.end();
    }
  })();

  const writer = (async () => {
    try {
      for await (const item of queue) {
        const result = await writeBatch(p, call, flow, item);
        options.written?.({ records: item.batch.records, ...result });
        flow.inFlight--;
        wake?.();
      }
    } catch (error) {
      // A producer waiting on a full queue, or for the writer to catch up, must not wait forever.
      failure = { error };
      wake?.();
      queue.fail(error);
      throw error;
    }
  })();

  const results = await Promise.allSettled([writer, producer]);
  lag.stop();
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return { elapsed_ms: performance.now() - started, telemetry: p.telemetry };
}

/** decode → dedup → map → correlate: a batch ready for the sinks. */
async function processBatch(
  p: Pipeline,
  call: ReturnType<typeof createCall>,
  flow: Flow,
  batch: SourceBatch,
): Promise<Processed> {
  const started = performance.now();
  const trace = p.tracer.batch(batch.records.length);
  p.telemetry.observe("batch_size", batch.records.length);
  // Dead letters keep source order whatever stage rejected them.
  const dead = letters(batch.records, () => flow.current().policy);

  let stage = trace.stage("decode");
  const decoded = await decode(p, batch.records, dead);
  trace.link(decoded);
  stage();
  fault("decode");

  stage = trace.stage("dedup");
  const { fresh, collided } = await dedupe(p, call, flow.pending, decoded);
  stage();

  stage = trace.stage("map");
  const observed = await map(p, fresh, dead);
  stage();

  stage = trace.stage("correlate");
  // Claimed before the iterations are loaded: a previous owner's late write is refused from now.
  const fence = await fenceOf(p, call, flow.fencing, batch);
  if (flow.correlatedUnder !== flow.current().generation) {
    await flow.settled(1); // the batches before this one are applied to the new model first
    flow.correlatedUnder = flow.current().generation;
  }
  const applied = await correlate(call, flow.current(), observed);
  stage();

  const keys = hold(p, flow.pending, observed.events, collided);
  return { batch, observed, applied, dead, keys, fence, started, trace };
}

/** graph ∥ metrics → dead letters + source ack → dedup keys; then count what it did. */
async function writeBatch(
  p: Pipeline,
  call: ReturnType<typeof createCall>,
  flow: Flow,
  item: Processed,
): Promise<{ events: Envelope[]; dead: DeadLetter[] }> {
  const { trace } = item;
  try {
    if (item.applied.correlation.generation !== flow.current().generation) {
      // Correlated on a model since replaced: apply it again on the new one.
      item.applied = await correlate(call, flow.current(), item.observed);
    }
    const stats = {
      at: Date.now(),
      received: item.batch.records.length,
      elapsed_ms: performance.now() - item.started,
    };
    let written;
    try {
      written = await write(p, call, flow, { ...item, events: item.observed.events, stats });
    } catch (error) {
      if (!(error instanceof FencedError)) throw error;
      return fenced(p, flow, item, error);
    }
    const dead = item.dead.list();
    const held = new Set(written.events);
    const keys = item.keys.filter((_, i) => held.has(item.observed.events[i]));
    await commit(p, call, item.batch, trace, dead, keys);
    release(flow.pending, item.keys);
    count(p, written, dead);
    trace.end();
    return { events: written.events, dead };
  } catch (error) {
    trace.end(error); // the batch fails: its span ends with the error
    throw error;
  }
}

/**
 * The batch's parts were claimed by another runner (the group moved them while this one was
 * stalled): nothing of it is committed, and its next owner reads it again. The model applied it:
 * rebuilt from the store.
 */
function fenced(p: Pipeline, flow: Flow, item: Processed, error: FencedError) {
  p.ctx.log(
    "warn",
    `batch of ${item.batch.records.length} records not committed: ${error.message}`,
    {
      component: "graph",
    },
  );
  flow.rebuild();
  release(flow.pending, item.keys);
  item.trace.end(error);
  return { events: [], dead: [] };
}

/** A new correlation policy, between batches (every batch in flight is written). */
function swapped(p: Pipeline, current: Correlation, next: CompiledSpec): Correlation {
  const c = correlation(next, p.modelStore, p.telemetry, current);
  p.ctx.log("info", `correlation policy ${c.policy} is live (${next.rules.length} rules)`, {
    component: "correlation",
  });
  return c;
}
