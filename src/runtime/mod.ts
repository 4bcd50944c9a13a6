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
 *
 * Faults: every store and sink call is retried while it fails transiently (capped exponential
 * backoff, full jitter, no limit: the bounded queue then pauses consumption); the component is
 * reported `retrying` meanwhile (`/readyz`, `ics_component_up`, a log line per attempt). A write
 * a sink refuses for good (PermanentError: a value the database rejects) is split until the
 * refused events stand alone (`_isolate.ts`); they are dead-lettered as `sink_error` with the
 * attempt count, the rest is written. The graph model had applied the whole batch, so it is
 * replaced by one rebuilt from the store; batches correlated on the old one are applied again
 * before they are written (`generation`).
 *
 * Scale-out: when a log source's partitions move (a new assignment `epoch` on its batches), the
 * batches in flight are written first, then the model is replaced too, since another instance may
 * have written to the cached iterations meanwhile; they reload from the store on their next event.
 * @module
 */
import { resolve } from "node:path";
import {
  type Context,
  createComponent,
  type DeadLetterQueue,
  type DedupEntry,
  type DedupStore,
  type GraphStore,
  type Lifecycle,
  type MetricsStore,
  type Source,
  type SourceBatch,
} from "../core/component.ts";
import type {
  DeadLetter,
  DlqCategory,
  EntityObservation,
  Envelope,
  RawRecord,
  RelationshipObservation,
} from "../core/types.ts";
import { PermanentError, UserError } from "../core/errors.ts";
import { redactError } from "../core/secrets.ts";
import type { CompiledSpec } from "../spec/mod.ts";
import { sources } from "../sources/mod.ts";
import { dedupStores, idempotencyKey, identify } from "../dedup/mod.ts";
import { deadLetterQueues, graphStores, metricsStores } from "../sinks/mod.ts";
import { deadLetter } from "../dead_letters/mod.ts";
import { createDecoder, type Decoder } from "../codecs/mod.ts";
import { createMapper, type Mapper, MappingError } from "../mapping/mod.ts";
import { createEngine, type Engine, type Rule } from "../correlation/mod.ts";
import { type ApplyResult, createGraphModel, type GraphModel } from "../graph/mod.ts";
import { confidenceBand, createTelemetry, type Telemetry } from "../telemetry/mod.ts";
import {
  type BatchTrace,
  createTracer,
  type Tracer,
  type TracerOptions,
} from "../telemetry/tracing.ts";
import { boundedQueue } from "./_queue.ts";
import { withRetry } from "./_retry.ts";
import { fault } from "../core/fault.ts";
import { isolate } from "./_isolate.ts";
import { carryOnWhenUnavailable } from "./_dedup.ts";
import { lockIfWritten } from "./_state.ts";
import { startup } from "./_startup.ts";
import type { StateLock } from "../core/state_lock.ts";

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
  /**
   * Component configs used instead of the target's (`ics replay`: a fresh consumer group, its own
   * dedup and dead-letter file; `ics dlq redrive`: the dead letters as the source).
   */
  replace?: Partial<Record<"source" | "dedup" | "dlq", { type: string; [field: string]: unknown }>>;
  /** Where a log source starts, whatever its group committed (`ics replay --from`). */
  from?: Context["from"];
  /** Wraps the store the graph model rebuilds iterations from (`ics replay`: empty ones only). */
  modelStore?: (graph: GraphStore) => GraphStore;
  /**
   * Nothing will be written (`ics dlq redrive --dry-run`): the state folder's lock is not taken,
   * so a dry run beside a running runner predicts instead of being refused, and leaves no trace.
   */
  readOnly?: boolean;
  /**
   * The pipeline's telemetry, made by the caller so that it can serve `/readyz` and `/metrics`
   * while the components start (default: a new one).
   */
  telemetry?: Telemetry;
  /** A stop request: ends the wait for services at start (compile throws). */
  signal?: AbortSignal;
  /**
   * Called once the state folder is locked, before the components are opened and waited for
   * (`ics run` serves `/readyz` from then on; a second runner is refused before it binds a port).
   */
  opening?: () => Promise<void>;
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
  const configured = Object.hasOwn(spec.spec.targets, target)
    ? spec.spec.targets[target]
    : undefined;
  if (!configured) {
    throw new UserError(
      `target "${target}" is not defined; defined targets: ${
        Object.keys(spec.spec.targets).join(", ")
      }`,
    );
  }
  const t = { ...configured, ...options.replace } as typeof configured;
  const ctx: Context = {
    stateDir: resolve(options.stateDir ?? ".ics"),
    specDir: spec.dir,
    log: options.log ?? (() => {}),
    drain: options.drain,
    from: options.from,
    durability: spec.spec.runtime.durability,
  };
  await Deno.mkdir(ctx.stateDir, { recursive: true });
  // One runner per state folder that holds data; released last, when the pipeline closes.
  const lock = options.readOnly ? undefined : await lockIfWritten(ctx.stateDir, t);
  const sourceConfig = options.input && t.source.type === "file"
    ? { ...t.source, path: resolve(options.input) }
    : t.source;
  const telemetry = options.telemetry ?? createTelemetry();
  const opened: { close(): Promise<void> }[] = lock ? [lock] : [];
  // Waits for the services the components need (`runtime.startup_timeout_seconds`).
  const start = startup(["source", "dedup", "graph", "metrics", "dlq"], {
    health: telemetry.health,
    log: ctx.log,
    retry: spec.spec.runtime.retry,
    timeoutSeconds: spec.spec.runtime.startup_timeout_seconds,
    signal: options.signal,
  });
  const open = async <T extends Lifecycle>(
    role: string,
    create: () => Promise<T>,
    check = false,
  ) => {
    const c = await start.open(role, create, { check });
    opened.push(c);
    return c;
  };
  /** The context of a role's component: its log lines name it. */
  const of = (role: string): Context => ({
    ...ctx,
    log: (level, message, fields) => ctx.log(level, message, { component: role, ...fields }),
  });
  try {
    await options.opening?.();
    // The stream → topic map reaches log sources through the context.
    const streamTopics = Object.fromEntries(
      [...spec.streams.values()].map((s) => [s.name, s.topic]),
    );
    // Telemetry too: a log source reports its consumer lag (`telemetry.setLag`). Its check
    // connects (a Kafka source's client is made on first use), so it is part of the start. A file
    // source applies max_event_bytes while it reads (an over-long line is never held whole).
    const source = await open(
      "source",
      () =>
        createComponent<
          Source,
          { streamTopics: Record<string, string>; telemetry: Telemetry; maxEventBytes: number }
        >(
          sources,
          sourceConfig,
          {
            ...of("source"),
            streamTopics,
            telemetry,
            maxEventBytes: spec.spec.validation.max_event_bytes,
          },
        ),
      true,
    );
    let dedup = await open(
      "dedup",
      () =>
        createComponent<DedupStore, { ttl_seconds: number }>(dedupStores, t.dedup, {
          ...of("dedup"),
          ttl_seconds: spec.spec.dedup.ttl_seconds,
        }),
    );
    if (spec.spec.dedup.on_unavailable === "sink_idempotency") {
      dedup = carryOnWhenUnavailable(dedup, telemetry, of("dedup").log);
      opened[opened.length - 1] = dedup; // closing it writes the keys it kept, if it can
    }
    const graph = await open(
      "graph",
      () => createComponent<GraphStore>(graphStores, t.graph, of("graph")),
    );
    const metrics = await open(
      "metrics",
      () => createComponent<MetricsStore>(metricsStores, t.metrics, of("metrics")),
    );
    const dlq = await open(
      "dlq",
      () => createComponent<DeadLetterQueue>(deadLetterQueues, t.dlq, of("dlq")),
    );
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
        options.modelStore?.(graph) ?? graph,
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

/**
 * The state folder's lock for a command that writes only a target's graph (`ics recorrelate`):
 * taken when the graph store lives in the folder (SQLite), as `compile()` does for a whole target.
 */
export async function lockGraphState(
  spec: CompiledSpec,
  target = spec.spec.default_target,
  stateDir = ".ics",
): Promise<StateLock | undefined> {
  const t = Object.hasOwn(spec.spec.targets, target) ? spec.spec.targets[target] : undefined;
  if (!t) return undefined; // openGraph() reports the unknown target
  const dir = resolve(stateDir);
  await Deno.mkdir(dir, { recursive: true });
  return await lockIfWritten(dir, { graph: t.graph });
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
  /** What the events say (applied again if the model is replaced before the batch is written). */
  entities: EntityObservation[];
  relationships: RelationshipObservation[];
  applied: ApplyResult;
  /** The model that applied it, and its generation (see {@link Flow}). */
  model: GraphModel;
  generation: number;
  /** Dead letters with the index of their record in the batch (they keep source order). */
  dead: { at: number; letter: DeadLetter }[];
  /** The dedup entries of the events, to commit once written (`collision`: add the digest). */
  keys: DedupEntry[];
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
  /** Called once a batch is written (every sink holds it): `ics dlq redrive` reports from it. */
  written?: (batch: { records: RawRecord[]; events: Envelope[]; dead: DeadLetter[] }) => void;
}

/** What the producer (source → process) and the writer (→ sinks) of a run share. */
interface Flow {
  signal: AbortSignal;
  /** Keys processed but not yet committed, with their digests. */
  pending: Map<string, Set<string>>;
  /** Keys whose collision was logged (once per key; bounded). */
  collisionsLogged: Set<string>;
  /** Batches taken from the source and not yet written. */
  inFlight: number;
  /** Resolves once at most `n` batches are in flight; rejects if the writer failed. */
  settled(n: number): Promise<void>;
  /**
   * Bumped when a refused write replaced the graph model. A batch correlated under an older
   * generation is applied again before it is written, and the producer correlates nothing on the
   * new model before every older batch is written, so the model sees batches in source order.
   */
  generation: number;
  /** The generation the producer last correlated under. */
  correlatedUnder: number;
}

/** Run until the source ends or the signal aborts; the batch in flight is always finished. */
export async function run(
  p: Pipeline,
  signal: AbortSignal = new AbortController().signal,
  options: RunOptions = {},
): Promise<RunResult> {
  const started = performance.now();
  const queue = boundedQueue<Processed>(p.spec.spec.runtime.queue_batches);
  let wake: (() => void) | undefined;
  let failure: { error: unknown } | undefined;
  const flow: Flow = {
    signal,
    pending: new Map(),
    collisionsLogged: new Set(),
    inFlight: 0,
    async settled(n) {
      while (this.inFlight > n) {
        if (failure) throw failure.error;
        await new Promise<void>((r) => wake = r);
      }
    },
    generation: 0,
    correlatedUnder: 0,
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
        if (next) swapPolicy(p, next);
        else if (moved) replaceModel(p, flow);
        flow.inFlight++;
        await queue.put(await process(p, batch, flow));
        if (signal.aborted) break;
      }
    } finally {
      queue.end();
    }
  })();
  const writer = (async () => {
    try {
      for await (const item of queue) {
        const result = await write(p, item, flow);
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
    p.model.clock(),
  );
  p.spec = {
    ...p.spec,
    rules: next.rules,
    ruleSpecs: next.ruleSpecs,
    combine: next.combine,
    min_confidence: next.min_confidence,
    policy: next.policy,
  };
  p.ctx.log("info", `correlation policy ${next.policy} is live (${next.rules.length} rules)`, {
    component: "correlation",
  });
}

/** Drop the model's state: a fresh one rebuilds each iteration from the store when it is used. */
function replaceModel(p: Pipeline, flow: Flow): void {
  p.model = createGraphModel(
    p.engine,
    p.spec.policy,
    p.graph,
    p.spec.spec.runtime.max_iterations_in_memory,
    p.model.clock(),
  );
  flow.generation++;
}

/**
 * Call a store or sink, retrying while it fails transiently. Its health follows: `retrying` with
 * the error and attempt from the first failure, `ok` again (and a log line) once a call succeeds.
 */
function call<T>(p: Pipeline, flow: Flow, component: string, fn: () => Promise<T>): Promise<T> {
  const t = p.telemetry;
  const { initial_ms, max_ms } = p.spec.spec.runtime.retry;
  let failures = 0;
  return withRetry(() =>
    fn().catch((error) => {
      t.add("sink_errors_total", 1, { component });
      throw error;
    }), {
    signal: flow.signal,
    baseMs: initial_ms,
    maxMs: max_ms,
    onRetry: (attempt, error) => {
      failures = attempt;
      t.add("retries_total", 1, { component });
      t.health.set(component, "retrying", `${redactError(error)} (attempt ${attempt})`);
      p.ctx.log(
        "warn",
        `${component} failed (attempt ${attempt}), retrying: ${redactError(error)}`,
        { component },
      );
    },
  }).then((value) => {
    if (failures > 0) {
      t.health.set(component, "ok");
      p.ctx.log("info", `${component} is available again (after ${failures} failed attempts)`, {
        component,
      });
    }
    return value;
  }, refusedBy(component));
}

/** A PermanentError names the component that refused the call. */
const refusedBy = (component: string) => (error: unknown): never => {
  throw error instanceof PermanentError
    ? new PermanentError(`${component} refused the write: ${error.message}`, { cause: error })
    : error;
};

/** Fold observations into the current model, loading the iterations it lacks from the store. */
async function correlate(
  p: Pipeline,
  flow: Flow,
  events: Envelope[],
  entities: EntityObservation[],
  relationships: RelationshipObservation[],
): Promise<{ applied: ApplyResult; model: GraphModel }> {
  const model = p.model; // replaced meanwhile? this batch is applied again before it is written
  await call(p, flow, "graph", () => model.prepare(events.map((e) => e.event.iteration_id)));
  return { applied: model.apply(entities, relationships, Date.now()), model };
}

async function process(p: Pipeline, batch: SourceBatch, flow: Flow): Promise<Processed> {
  const t = p.telemetry;
  const started = performance.now();
  const trace = p.tracer.batch(batch.records.length);
  t.observe("batch_size", batch.records.length);
  // Dead letters keep source order whatever stage rejected them.
  const dead: { at: number; letter: DeadLetter }[] = [];
  const order = new Map(batch.records.map((r, i) => [r, i]));
  const letter = (record: RawRecord, category: DlqCategory, reason: string, stream?: string) =>
    dead.push({
      at: order.get(record)!,
      letter: deadLetter(record, category, reason, { stream, policy: p.spec.policy }),
    });

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
    const id = identify(p.spec.streams.get(d.stream)!, d.event);
    decoded.push({ record, stream: d.stream, event: d.event, ...id });
  }
  trace.link(decoded);
  stage();
  fault("decode");

  // dedup: within the batch, against batches in flight, then against the store. A key hit is
  // verified by the digest: the same digest is a duplicate, another one a distinct event that
  // shares the key (a collision: processed, counted, logged once per key).
  stage = trace.stage("dedup");
  const inBatch = new Map<string, Set<string>>();
  const candidates: Envelope[] = [];
  const collided = new Set<Envelope>();
  let dropped = 0;
  for (const e of decoded) {
    const here = inBatch.get(e.key);
    const known = here ?? flow.pending.get(e.key);
    if (known?.has(e.digest) || (here && flow.pending.get(e.key)?.has(e.digest))) {
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
  const verdicts = entries.length ? await call(p, flow, "dedup", () => p.dedup.seen(entries)) : [];
  const fresh: Envelope[] = [];
  candidates.forEach((e, i) => {
    if (verdicts[i] === "seen") return void dropped++;
    if (verdicts[i] === "collision") collided.add(e);
    fresh.push(e);
  });
  for (const e of collided) {
    t.add("dedup_collisions_total", 1, { stream: e.stream });
    if (!flow.collisionsLogged.has(e.key) && flow.collisionsLogged.size < 10_000) {
      flow.collisionsLogged.add(e.key);
      p.ctx.log(
        "warn",
        `dedup key collision: ${e.stream} ${e.event.event_type} event "${e.event.event_id}" ` +
          `shares its idempotency key with another event whose content differs; processed ` +
          `(check the key fields: ics validate --keys)`,
      );
    }
  }
  t.add("dedup_dropped_total", dropped);
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
  if (flow.correlatedUnder !== flow.generation) {
    await flow.settled(1); // the batches before this one are applied to the new model first
    flow.correlatedUnder = flow.generation;
  }
  const generation = flow.generation;
  const { applied, model } = await correlate(p, flow, events, entities, relationships);
  stage();

  const keys = events.map((e) => ({ ...dedupEntry(p, e, false), collision: collided.has(e) }));
  for (const k of keys) {
    const digests = flow.pending.get(k.key);
    if (digests) digests.add(k.digest), k.collision = true;
    else flow.pending.set(k.key, new Set([k.digest]));
  }
  return {
    batch,
    events,
    entities,
    relationships,
    applied,
    model,
    generation,
    dead,
    keys,
    received: batch.records.length,
    started,
    trace,
  };
}

/** What a written batch came to: the events the sinks hold and the letters dead-lettered. */
interface Written {
  events: Envelope[];
  dead: DeadLetter[];
}

async function write(p: Pipeline, item: Processed, flow: Flow): Promise<Written> {
  const { trace } = item;
  try {
    const written = await writeBatch(p, item, flow);
    trace.end();
    return written;
  } catch (error) {
    trace.end(error); // the batch fails: its span ends with the error
    throw error;
  }
}

async function writeBatch(p: Pipeline, item: Processed, flow: Flow): Promise<Written> {
  const t = p.telemetry;
  const { trace } = item;
  if (item.generation !== flow.generation) {
    // Correlated on a model since replaced (a write was refused): apply it again on the new one.
    const again = await correlate(p, flow, item.events, item.entities, item.relationships);
    item.applied = again.applied;
    item.model = again.model;
    item.generation = flow.generation;
  }
  const stats = {
    at: Date.now(),
    received: item.received,
    elapsed_ms: performance.now() - item.started,
  };
  const { changes } = item.applied;
  let events = item.events;
  const results = await Promise.allSettled([
    trace.time("write_graph", () => call(p, flow, "graph", () => p.graph.write(changes))),
    trace.time(
      "write_metrics",
      () => call(p, flow, "metrics", () => p.metrics.write(events, stats)),
    ),
  ]);
  fault("sinks");
  item.model.done(item.applied.iterations);
  const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
  const fatal = errors.find((e) => !(e instanceof PermanentError));
  if (fatal) throw fatal;
  let written = [item.applied];
  if (errors.length) {
    const refused = await writeRefused(p, flow, item, errors[0], stats);
    written = refused.written;
    events = refused.events;
  }

  // Dead letters last: a transactional queue commits them together with the source offsets, and
  // offsets may move only once every other sink holds the batch.
  const dead = item.dead.sort((a, b) => a.at - b.at).map((d) => d.letter);
  const { offsets } = item.batch;
  let stage = trace.stage("write_dlq");
  if (p.dlq.writeAndCommit && offsets) {
    await call(p, flow, "dlq", () => p.dlq.writeAndCommit!(dead, offsets));
    fault("dlq");
    await call(p, flow, "source", () => item.batch.ack({ committed: true }));
    stage();
    stage = trace.stage("commit");
  } else {
    await call(p, flow, "dlq", () => p.dlq.write(dead));
    fault("dlq");
    stage();
    stage = trace.stage("commit");
    await call(p, flow, "source", () => item.batch.ack());
  }
  fault("ack");
  // Only keys of written events: a dead-lettered event, once fixed and re-injected, is not a
  // duplicate.
  const held = new Set(events);
  const keys = item.keys.filter((_, i) => held.has(item.events[i]));
  await call(p, flow, "dedup", () => p.dedup.commit(keys));
  stage();
  const committed = Date.now();
  for (const e of events) {
    t.observe("e2e_latency_seconds", (committed - e.event.timestamp) / 1000, { stream: e.stream });
  }
  for (const k of item.keys) {
    const digests = flow.pending.get(k.key);
    digests?.delete(k.digest);
    if (digests?.size === 0) flow.pending.delete(k.key);
  }

  for (const applied of written) {
    const opened = { node: 0, relationship: 0, link: 0 };
    for (const v of applied.changes.opened) {
      opened[v.kind]++;
      if (v.kind === "link") {
        t.add("links_by_confidence_total", 1, { band: confidenceBand(Number(v.props.confidence)) });
      }
    }
    t.add("entity_versions_total", opened.node);
    t.add("relationship_versions_total", opened.relationship);
    t.add("link_versions_total", opened.link);
    for (const c of applied.changes.closed) t.add("versions_closed_total", 1, { kind: c.kind });
    for (const [rule, n] of applied.linksByRule) t.add("correlation_links_total", n, { rule });
    t.add("correlation_links_retracted_total", applied.retracted);
  }
  for (const d of dead) t.add("dlq_events_total", 1, { category: d.category });
  t.add("batches_total");
  return { events, dead };
}

/**
 * A sink refused the batch for good: write it again in ever smaller groups until the refused
 * events stand alone, and dead-letter those (`sink_error`, with the attempt count). Each group is
 * written to the graph first, then to metrics, so the graph never holds an event it refused.
 */
async function writeRefused(
  p: Pipeline,
  flow: Flow,
  item: Processed,
  error: PermanentError,
  stats: { at: number; received: number; elapsed_ms: number },
): Promise<{ written: ApplyResult[]; events: Envelope[] }> {
  p.ctx.log(
    "warn",
    `${error.message}; writing the batch's ${item.events.length} events in smaller groups ` +
      `to find the refused ones`,
  );
  // The model applied the whole batch, which the store does not hold: rebuild it from the store.
  replaceModel(p, flow);
  const written: ApplyResult[] = [];
  const events: Envelope[] = [];
  const refused = await isolate(item.events, error, async (group) => {
    const entities: EntityObservation[] = [];
    const relationships: RelationshipObservation[] = [];
    for (const e of group) {
      const m = p.mapper.map(e.stream, e.event);
      entities.push(...m.entities);
      relationships.push(...m.relationships);
    }
    const { applied, model } = await correlate(p, flow, group, entities, relationships);
    const n = group.length;
    try {
      await call(p, flow, "graph", () => p.graph.write(applied.changes));
      await call(p, flow, "metrics", () => p.metrics.write(group, { ...stats, received: n }));
    } catch (error) {
      if (error instanceof PermanentError) replaceModel(p, flow);
      throw error;
    } finally {
      model.done(applied.iterations);
    }
    written.push(applied);
    events.push(...group);
  });
  const order = new Map(item.batch.records.map((r, i) => [r, i]));
  for (const r of refused) {
    const e = r.item;
    const letter = deadLetter(e.record, "sink_error", r.error.message, {
      stream: e.stream,
      policy: p.spec.policy,
    });
    item.dead.push({ at: order.get(e.record)!, letter: { ...letter, attempts: r.attempts } });
    p.ctx.log("warn", `event dead-lettered (sink_error): ${r.error.message}`, {
      iteration_id: e.event.iteration_id,
      event_id: e.event.event_id,
    });
  }
  p.ctx.log(
    "warn",
    `${refused.length} of ${item.events.length} events dead-lettered (sink_error), the rest written`,
  );
  return { written, events };
}

/** An event's dedup entry; `legacy` adds its key in the earlier format where that differs. */
function dedupEntry(p: Pipeline, e: Envelope, legacy: boolean): DedupEntry {
  if (!legacy) return { key: e.key, digest: e.digest };
  const old = idempotencyKey(e.event, p.spec.streams.get(e.stream)!.legacyKey);
  return old === e.key
    ? { key: e.key, digest: e.digest }
    : { key: e.key, digest: e.digest, legacy: old };
}
