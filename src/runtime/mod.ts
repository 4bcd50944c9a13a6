/**
 * The runtime: the whole data flow in one file.
 *
 * ```
 * source ─batches─► process: decode → validate → dedup → map → correlate ─► [bounded queue] ─►
 *   write: graph ∥ metrics (retried) ─► dead letters + source ack ─► dedup.commit(keys)
 * ```
 *
 * `compile()` turns a loaded spec and a target name into a {@link Pipeline} of components; `run()`
 * moves batches through it. Input is acknowledged only after every sink acknowledged the batch,
 * and a dedup key is marked seen only then, so a crash at any point loses nothing; the sinks'
 * idempotent writes and the graph model's rebuild-from-store make replays change nothing.
 * @module
 */
import { resolve } from "node:path";
import { Buffer } from "node:buffer";
import {
  type Context,
  createComponent,
  type DeadLetterQueue,
  type DedupStore,
  type GraphStore,
  type MetricsStore,
  type Source,
  type SourceBatch,
} from "../core/component.ts";
import type {
  DeadLetter,
  DlqCategory,
  EntityObservation,
  Envelope,
  GraphChanges,
  RawRecord,
  RelationshipObservation,
} from "../core/types.ts";
import { UserError } from "../core/errors.ts";
import type { CompiledSpec } from "../spec/mod.ts";
import { sources } from "../sources/mod.ts";
import { dedupStores, idempotencyKey } from "../dedup/mod.ts";
import { deadLetterQueues, graphStores, metricsStores } from "../sinks/mod.ts";
import { createDecoder, type Decoder } from "../codecs/mod.ts";
import { createMapper, type Mapper, MappingError } from "../mapping/mod.ts";
import { createEngine, type Engine, type Rule } from "../correlation/mod.ts";
import { createGraphModel, type GraphModel } from "../graph/mod.ts";
import { confidenceBand, createTelemetry, type Telemetry } from "../telemetry/mod.ts";
import {
  type BatchTrace,
  createTracer,
  type Tracer,
  type TracerOptions,
} from "../telemetry/tracing.ts";
import { boundedQueue } from "./_queue.ts";
import { withRetry } from "./_retry.ts";

export interface CompileOptions {
  target?: string;
  /** Overrides the file source's `path`. */
  input?: string;
  /** State folder (default `.ics`). */
  stateDir?: string;
  /** Stop once the input present at start is processed (log sources; files always end). */
  drain?: boolean;
  log?: Context["log"];
  /** Export spans here (tests), whatever `observability.tracing` says. */
  spanExporter?: TracerOptions["exporter"];
}

export interface Pipeline {
  spec: CompiledSpec;
  target: string;
  ctx: Context;
  source: Source;
  dedup: DedupStore;
  graph: GraphStore;
  metrics: MetricsStore;
  dlq: DeadLetterQueue;
  decoder: Decoder;
  mapper: Mapper;
  engine: Engine;
  model: GraphModel;
  telemetry: Telemetry;
  /** Stage timings, and spans when tracing is on. */
  tracer: Tracer;
  close(): Promise<void>;
}

/** Build the running graph of components for a target. Closes what it opened if one fails. */
export async function compile(spec: CompiledSpec, options: CompileOptions = {}): Promise<Pipeline> {
  const target = options.target ?? spec.spec.default_target;
  // Own entries only: `--target constructor` must not find Object.prototype.constructor.
  const t = Object.hasOwn(spec.spec.targets, target) ? spec.spec.targets[target] : undefined;
  if (!t) {
    throw new UserError(
      `target "${target}" is not defined; defined targets: ${
        Object.keys(spec.spec.targets).join(", ")
      }`,
    );
  }
  const ctx: Context = {
    stateDir: resolve(options.stateDir ?? ".ics"),
    specDir: spec.dir,
    log: options.log ?? (() => {}),
    drain: options.drain,
  };
  await Deno.mkdir(ctx.stateDir, { recursive: true });
  const sourceConfig = options.input && t.source.type === "file"
    ? { ...t.source, path: resolve(options.input) }
    : t.source;
  const telemetry = createTelemetry();
  const opened: { close(): Promise<void> }[] = [];
  const open = async <T extends { close(): Promise<void> }>(p: Promise<T>) => {
    const c = await p;
    opened.push(c);
    return c;
  };
  try {
    // The stream → topic map reaches log sources through the context.
    const streamTopics = Object.fromEntries(
      [...spec.streams.values()].map((s) => [s.name, s.topic]),
    );
    // Telemetry too: a log source reports its consumer lag (`telemetry.setLag`).
    const source = await open(
      createComponent<Source, { streamTopics: Record<string, string>; telemetry: Telemetry }>(
        sources,
        sourceConfig,
        { ...ctx, streamTopics, telemetry },
      ),
    );
    const dedup = await open(
      createComponent<DedupStore, { ttl_seconds: number }>(dedupStores, t.dedup, {
        ...ctx,
        ttl_seconds: spec.spec.dedup.ttl_seconds,
      }),
    );
    const graph = await open(createComponent<GraphStore>(graphStores, t.graph, ctx));
    const metrics = await open(createComponent<MetricsStore>(metricsStores, t.metrics, ctx));
    const dlq = await open(createComponent<DeadLetterQueue>(deadLetterQueues, t.dlq, ctx));
    const tracer = createTracer(telemetry, {
      config: spec.spec.observability.tracing,
      exporter: options.spanExporter,
    });
    opened.push(tracer);
    const engine = createEngine({
      rules: spec.rules.map((rule) => countingNearMisses(rule, telemetry)),
      combine: spec.combine,
      min_confidence: spec.min_confidence,
      policy: spec.policy,
    });
    return {
      spec,
      target,
      ctx,
      source,
      dedup,
      graph,
      metrics,
      dlq,
      decoder: createDecoder(spec, Date.now, source.writerSchema?.bind(source)),
      mapper: createMapper(spec.entities, spec.relationships),
      engine,
      model: createGraphModel(
        engine,
        spec.policy,
        graph,
        spec.spec.runtime.max_iterations_in_memory,
      ),
      telemetry,
      tracer,
      close: () => closeAll(opened),
    };
  } catch (error) {
    await closeAll(opened);
    throw error;
  }
}

async function closeAll(components: { close(): Promise<void> }[]) {
  for (const c of components.reverse()) await c.close().catch(() => {});
}

/** A rule that also counts its near misses: candidates it evaluated without firing. */
export function countingNearMisses(rule: Rule, t: Telemetry): Rule {
  const labels = { rule: rule.id };
  return {
    ...rule,
    evaluate(left, right) {
      const evaluation = rule.evaluate(left, right);
      if (evaluation && !evaluation.fired) t.add("correlation_near_misses_total", 1, labels);
      return evaluation;
    },
  };
}

/** A processed batch on its way to the sinks. */
interface Processed {
  batch: SourceBatch;
  events: Envelope[];
  changes: GraphChanges;
  dead: DeadLetter[];
  keys: string[];
  iterations: string[];
  received: number;
  started: number;
  trace: BatchTrace;
}

export interface RunResult {
  elapsed_ms: number;
  telemetry: Telemetry;
}

/** Run until the source ends or the signal aborts; the batch in flight is always finished. */
export interface RunOptions {
  /**
   * Called between batches; a returned spec becomes the new correlation policy (`run --watch`).
   * The swap waits until every batch in flight is written, so each batch is correlated and written
   * under one policy, and links made after it carry the new policy hash.
   */
  reload?: () => Promise<CompiledSpec | undefined>;
}

/** Run until the source ends or the signal aborts; the batch in flight is always finished. */
export async function run(
  p: Pipeline,
  signal: AbortSignal = new AbortController().signal,
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const queue = boundedQueue<Processed>(p.spec.spec.runtime.queue_batches);
  const pending = new Set<string>(); // keys processed but not yet committed
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const producer = (async () => {
    try {
      for await (const batch of p.source.batches(signal)) {
        const next = await options.reload?.();
        if (next) {
          while (inFlight > 0) await new Promise<void>((r) => drained = r);
          swapPolicy(p, next);
        }
        inFlight++;
        await queue.put(await process(p, batch, pending));
        if (signal.aborted) break;
      }
    } finally {
      queue.end();
    }
  })();
  const writer = (async () => {
    try {
      for await (const item of queue) {
        await write(p, item, pending, signal);
        if (--inFlight === 0) drained?.();
      }
    } catch (error) {
      queue.fail(error); // a producer waiting on a full queue must not wait forever
      throw error;
    }
  })();
  const results = await Promise.allSettled([writer, producer]);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return { elapsed_ms: performance.now() - started, telemetry: p.telemetry };
}

/**
 * Install a new correlation policy between batches. Iteration state built under the old policy
 * is dropped (a fresh model reloads it from the store and indexes it with the new rules).
 */
function swapPolicy(p: Pipeline, next: CompiledSpec): void {
  const engine = createEngine({
    rules: next.rules.map((rule) => countingNearMisses(rule, p.telemetry)),
    combine: next.combine,
    min_confidence: next.min_confidence,
    policy: next.policy,
  });
  p.engine = engine;
  p.model = createGraphModel(
    engine,
    next.policy,
    p.graph,
    next.spec.runtime.max_iterations_in_memory,
  );
  p.spec = {
    ...p.spec,
    rules: next.rules,
    ruleSpecs: next.ruleSpecs,
    combine: next.combine,
    min_confidence: next.min_confidence,
    policy: next.policy,
  };
  p.ctx.log("info", `correlation policy ${next.policy} is live (${next.rules.length} rules)`);
}

async function process(p: Pipeline, batch: SourceBatch, pending: Set<string>): Promise<Processed> {
  const t = p.telemetry;
  const started = performance.now();
  const trace = p.tracer.batch(batch.records.length);
  t.observe("batch_size", batch.records.length);
  // Dead letters keep source order whatever stage rejected them.
  const dead: { at: number; letter: DeadLetter }[] = [];
  const order = new Map(batch.records.map((r, i) => [r, i]));
  const letter = (record: RawRecord, category: DlqCategory, reason: string, stream?: string) =>
    dead.push({ at: order.get(record)!, letter: deadLetter(p, record, category, reason, stream) });

  // decode + validate
  let stage = trace.stage("decode");
  const decoded: Envelope[] = [];
  for (const record of batch.records) {
    t.add("bytes_received_total", record.value.length);
    const d = p.decoder(record);
    t.add("events_received_total", 1, { stream: d.stream ?? record.stream ?? "unknown" });
    if (!d.ok) {
      letter(record, d.category, d.reason, d.stream);
      continue;
    }
    const key = idempotencyKey(d.event, p.spec.streams.get(d.stream)!.dedupKey);
    decoded.push({ record, stream: d.stream, event: d.event, key });
  }
  trace.link(decoded);
  stage();

  // dedup: within the batch, against batches in flight, then against the store
  stage = trace.stage("dedup");
  const inBatch = new Set<string>();
  const candidates = decoded.filter((e) =>
    !inBatch.has(e.key) && !pending.has(e.key) && inBatch.add(e.key)
  );
  const seen = candidates.length ? await p.dedup.seen(candidates.map((e) => e.key)) : [];
  const fresh = candidates.filter((_, i) => !seen[i]);
  t.add("dedup_dropped_total", decoded.length - fresh.length);
  stage();

  // map
  stage = trace.stage("map");
  const events: Envelope[] = [];
  const entities: EntityObservation[] = [];
  const relationships: RelationshipObservation[] = [];
  for (const e of fresh) {
    try {
      const m = p.mapper.map(e.stream, e.event);
      entities.push(...m.entities);
      relationships.push(...m.relationships);
      events.push(e);
      t.add("events_processed_total", 1, { stream: e.stream });
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      letter(e.record, "mapping_error", error.message, e.stream);
    }
  }
  stage();

  // correlate: the graph model folds observations into versions and links
  stage = trace.stage("correlate");
  await p.model.prepare(events.map((e) => e.event.iteration_id));
  const applied = p.model.apply(entities, relationships, Date.now());
  for (const [rule, n] of applied.linksByRule) t.add("correlation_links_total", n, { rule });
  t.add("correlation_links_retracted_total", applied.retracted);
  stage();

  const keys = events.map((e) => e.key);
  for (const k of keys) pending.add(k);
  return {
    batch,
    events,
    changes: applied.changes,
    dead: dead.sort((a, b) => a.at - b.at).map((d) => d.letter),
    keys,
    iterations: applied.iterations,
    received: batch.records.length,
    started,
    trace,
  };
}

async function write(p: Pipeline, item: Processed, pending: Set<string>, signal: AbortSignal) {
  const t = p.telemetry;
  const { trace } = item;
  const retry = <T>(name: string, fn: () => Promise<T>) =>
    withRetry(() =>
      fn().catch((error) => {
        t.add("sink_errors_total", 1, { component: name });
        throw error;
      }), {
      signal,
      onRetry: (attempt, error) => {
        t.add("retries_total", 1, { component: name });
        p.ctx.log("warn", `${name} failed (attempt ${attempt}), retrying: ${error.message}`);
      },
    }).catch((error) => {
      trace.end(error); // the batch fails: its span ends with the error
      throw error;
    });
  const at = Date.now();
  await Promise.all([
    trace.time("write_graph", () => retry("graph", () => p.graph.write(item.changes))),
    trace.time("write_metrics", () =>
      retry("metrics", () =>
        p.metrics.write(item.events, {
          at,
          received: item.received,
          elapsed_ms: performance.now() - item.started,
        }))),
  ]);
  // Dead letters last: a transactional queue commits them together with the source offsets, and
  // offsets may move only once every other sink holds the batch.
  const { offsets } = item.batch;
  let stage = trace.stage("write_dlq");
  if (p.dlq.writeAndCommit && offsets) {
    await retry("dlq", () => p.dlq.writeAndCommit!(item.dead, offsets));
    await retry("source", () => item.batch.ack({ committed: true }));
    stage();
    stage = trace.stage("commit");
  } else {
    await retry("dlq", () => p.dlq.write(item.dead));
    stage();
    stage = trace.stage("commit");
    await retry("source", () => item.batch.ack());
  }
  await retry("dedup", () => p.dedup.commit(item.keys));
  stage();
  const committed = Date.now();
  for (const e of item.events) {
    t.observe("e2e_latency_seconds", (committed - e.event.timestamp) / 1000, { stream: e.stream });
  }
  for (const k of item.keys) pending.delete(k);
  p.model.done(item.iterations);

  const opened = { node: 0, relationship: 0, link: 0 };
  for (const v of item.changes.opened) {
    opened[v.kind]++;
    if (v.kind === "link") {
      t.add("links_by_confidence_total", 1, { band: confidenceBand(Number(v.props.confidence)) });
    }
  }
  t.add("entity_versions_total", opened.node);
  t.add("relationship_versions_total", opened.relationship);
  t.add("link_versions_total", opened.link);
  for (const c of item.changes.closed) t.add("versions_closed_total", 1, { kind: c.kind });
  for (const d of item.dead) t.add("dlq_events_total", 1, { category: d.category });
  t.add("batches_total");
  trace.end();
}

function deadLetter(
  p: Pipeline,
  record: RawRecord,
  category: DlqCategory,
  reason: string,
  stream?: string,
): DeadLetter {
  // Text stays readable; binary (Avro, or bytes that are not UTF-8) is kept exactly, as base64.
  let payload: string | undefined;
  if (record.format === "json") {
    try {
      payload = new TextDecoder("utf-8", { fatal: true }).decode(record.value);
    } catch { /* not text: base64 below */ }
  }
  const payload_encoding: DeadLetter["payload_encoding"] = payload === undefined
    ? "base64"
    : "utf8";
  payload ??= Buffer.from(record.value).toString("base64");
  return {
    category,
    ...(record.key !== undefined ? { key: record.key } : {}),
    reason,
    ...(stream ? { stream } : {}),
    position: record.position,
    payload,
    payload_encoding,
    time: Date.now(),
    policy: p.spec.policy,
  };
}
