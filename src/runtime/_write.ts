/**
 * Write a batch to the graph and metrics stores, in parallel, each call retried while it fails
 * transiently. A write a store refuses for good (PermanentError: a value the database rejects) is
 * split until the refused events stand alone (`_isolate.ts`): they are dead-lettered as
 * `sink_error` with their attempt count, the rest is written. Each group is written to the graph
 * first and to metrics second, so the graph never holds an event it refused.
 * @module
 */
import type { Envelope } from "../core/types.ts";
import type { Fence } from "../core/component.ts";
import { PermanentError } from "../core/errors.ts";
import { fault } from "../core/fault.ts";
import { deadLetter } from "../dead_letters/mod.ts";
import type { ApplyResult } from "../graph/mod.ts";
import type { BatchTrace } from "../telemetry/tracing.ts";
import type { Pipeline } from "./_compile.ts";
import type { Call } from "./_call.ts";
import type { Correlation } from "./_correlation.ts";
import { type Applied, correlate } from "./_correlate.ts";
import { observed } from "./_map.ts";
import type { Letters } from "./_letters.ts";
import { isolate } from "./_isolate.ts";

export interface Stats {
  at: number;
  received: number;
  elapsed_ms: number;
}

/** What the sinks hold once a batch is written. */
export interface Written {
  /** The events written (all but those refused). */
  events: Envelope[];
  /** What each write applied (one, or one per group after a refusal). */
  applied: ApplyResult[];
}

/** The correlation in force, and how to replace it (a refused write). */
export interface Model {
  current(): Correlation;
  /** The model applied writes the store does not hold: a fresh one, rebuilt from the store. */
  rebuild(): Correlation;
}

export async function write(
  p: Pipeline,
  call: Call,
  model: Model,
  batch: {
    events: Envelope[];
    applied: Applied;
    stats: Stats;
    trace: BatchTrace;
    dead: Letters;
    fence?: Fence;
  },
): Promise<Written> {
  const { events, applied, stats, trace, fence } = batch;
  const { changes } = applied.applied;
  const results = await Promise.allSettled([
    trace.time("write_graph", () => call("graph", () => p.graph.write(changes, fence))),
    trace.time("write_metrics", () => call("metrics", () => p.metrics.write(events, stats))),
  ]);
  fault("sinks");
  applied.correlation.model.done(applied.applied.iterations);
  const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
  const fatal = errors.find((e) => !(e instanceof PermanentError));
  if (fatal) throw fatal;
  if (!errors.length) return { events, applied: [applied.applied] };
  return await refused(p, call, model, batch, errors[0]);
}

async function refused(
  p: Pipeline,
  call: Call,
  model: Model,
  batch: { events: Envelope[]; stats: Stats; dead: Letters; fence?: Fence },
  error: PermanentError,
): Promise<Written> {
  const { events, stats, fence } = batch;
  p.ctx.log(
    "warn",
    `${error.message}; writing the batch's ${events.length} events in smaller groups ` +
      `to find the refused ones`,
  );
  // The model applied the whole batch, which the store does not hold: rebuild it from the store.
  model.rebuild();
  const written: Written = { events: [], applied: [] };
  const refused = await isolate(events, error, async (group) => {
    const { applied, correlation } = await correlate(
      call,
      model.current(),
      observed(p.mapper, group),
    );
    try {
      await call("graph", () => p.graph.write(applied.changes, fence));
      await call("metrics", () => p.metrics.write(group, { ...stats, received: group.length }));
    } catch (error) {
      if (error instanceof PermanentError) model.rebuild();
      throw error;
    } finally {
      correlation.model.done(applied.iterations);
    }
    written.applied.push(applied);
    written.events.push(...group);
  });
  for (const r of refused) {
    const e = r.item;
    const letter = deadLetter(e.record, "sink_error", r.error.message, {
      stream: e.stream,
      policy: model.current().policy,
    });
    batch.dead.push(e.record, { ...letter, attempts: r.attempts });
    p.ctx.log("warn", `event dead-lettered (sink_error): ${r.error.message}`, {
      iteration_id: e.event.iteration_id,
      event_id: e.event.event_id,
    });
  }
  p.ctx.log(
    "warn",
    `${refused.length} of ${events.length} events dead-lettered (sink_error), the rest written`,
  );
  return written;
}
