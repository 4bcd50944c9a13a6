/**
 * `compile()`: a loaded spec and a target become a {@link Pipeline} of opened components. The
 * state folder is locked first when the target keeps data in it (one runner per folder); the
 * components are opened in role order, each waited for while its service is not up yet
 * (`runtime.startup_timeout_seconds`); what was opened is closed again if one fails.
 * @module
 */
import { resolve } from "node:path";
import {
  type Context,
  createComponent,
  type DeadLetterQueue,
  type DedupStore,
  type GraphStore,
  type Lifecycle,
  type MetricsStore,
  type Source,
} from "../core/component.ts";
import { UserError } from "../core/errors.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import { sources } from "../sources/mod.ts";
import { carryOnWhenUnavailable, dedupStores } from "../dedup/mod.ts";
import { deadLetterQueues, graphStores, metricsStores } from "../sinks/mod.ts";
import { createDecoder, type Decoder } from "../codecs/mod.ts";
import { createMapper, type Mapper } from "../mapping/mod.ts";
import { createTelemetry, type Telemetry } from "../telemetry/mod.ts";
import { createTracer, type Tracer, type TracerOptions } from "../telemetry/tracing.ts";
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
  /**
   * The store the graph model rebuilds iterations from: the graph store, or a view of it
   * (`ics replay` refuses iterations already stored).
   */
  modelStore: GraphStore;
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
      (): Promise<Source> =>
        createComponent(sources, sourceConfig, {
          ...of("source"),
          streamTopics,
          telemetry,
          maxEventBytes: spec.spec.validation.max_event_bytes,
        }),
      true,
    );
    let dedup = await open(
      "dedup",
      (): Promise<DedupStore> =>
        createComponent(dedupStores, t.dedup, {
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
      (): Promise<GraphStore> => createComponent(graphStores, t.graph, of("graph")),
    );
    const metrics = await open(
      "metrics",
      (): Promise<MetricsStore> => createComponent(metricsStores, t.metrics, of("metrics")),
    );
    const dlq = await open(
      "dlq",
      (): Promise<DeadLetterQueue> => createComponent(deadLetterQueues, t.dlq, of("dlq")),
    );
    const tracer = createTracer(telemetry, {
      config: spec.spec.observability.tracing,
      exporter: options.spanExporter,
    });
    opened.push(tracer);
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
      modelStore: options.modelStore?.(graph) ?? graph,
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
