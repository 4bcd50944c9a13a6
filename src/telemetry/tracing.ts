/**
 * Tracing: a thin wrapper over OpenTelemetry, so the runtime says `tracer.batch(n)`,
 * `b.stage("decode")`, `b.link(events)` and `b.end()` and never touches the SDK.
 *
 * A batch is one trace: a `batch` span (kind consumer) with a child span per stage, and on the batch
 * span one link per event to the producer's span, taken from the event's `traceparent` (W3C), else
 * its `trace_id` + `span_id`, else a `traceparent` record header (Kafka). That is the OpenTelemetry
 * pattern for batch consumers: Jaeger shows, from the producer's span, the ics batch that handled it.
 *
 * Stage timings always go to the `ics_stage_seconds` histogram. Spans exist only when tracing is on
 * (`observability.tracing.enabled`); off, a batch costs a few closures and `performance.now()` calls.
 * Spans go to an OTLP/HTTP collector (Jaeger: `http://127.0.0.1:4318`) through a batching
 * processor; tests pass their own exporter. No global provider or context manager is installed:
 * parents are passed explicitly, so nothing leaks between pipelines in one process.
 * @module
 */
import {
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Tracer as OtelTracer,
} from "@opentelemetry/api";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SimpleSpanProcessor,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import type { Envelope } from "../core/types.ts";
import type { Stage, Telemetry } from "./mod.ts";
import { redact, redactError } from "../core/secrets.ts";

/** `observability.tracing` of the spec. */
export interface TracingConfig {
  enabled: boolean;
  /** OTLP/HTTP base URL (`/v1/traces` is appended unless present). */
  otlp_endpoint: string;
  service_name: string;
  /** Share of batches traced (trace id ratio; stage spans follow their batch). */
  sample_ratio: number;
}

export interface BatchTrace {
  /** Start a stage; the returned function ends it (and records its time). */
  stage(name: Stage): (error?: unknown) => void;
  /** Time an asynchronous stage. */
  time<T>(name: Stage, fn: () => Promise<T>): Promise<T>;
  /** Link the batch span to each event's producer span. */
  link(events: readonly Pick<Envelope, "event" | "record">[]): void;
  /** End the batch span (with the error that failed the batch, if any). */
  end(error?: unknown): void;
}

export interface Tracer {
  readonly enabled: boolean;
  batch(records: number, attributes?: Record<string, string | number>): BatchTrace;
  /** Flush pending spans and stop exporting. */
  close(): Promise<void>;
}

export interface TracerOptions {
  config?: TracingConfig;
  /** Export spans here instead of OTLP (tests); turns tracing on whatever the config says. */
  exporter?: SpanExporter;
}

/** Links per batch span: one per event, so as many as the largest batch a source may yield. */
const MAX_LINKS = 100_000;

export function createTracer(telemetry: Telemetry, options: TracerOptions = {}): Tracer {
  const timer = (name: Stage) => {
    const started = performance.now();
    return () =>
      telemetry.observe("stage_seconds", (performance.now() - started) / 1000, { stage: name });
  };
  const enabled = options.exporter !== undefined || options.config?.enabled === true;
  if (!enabled) {
    const off: BatchTrace = {
      stage: timer,
      time: async (name, fn) => {
        const done = timer(name);
        try {
          return await fn();
        } finally {
          done();
        }
      },
      link: () => {},
      end: () => {},
    };
    return { enabled, batch: () => off, close: () => Promise.resolve() };
  }

  const config = options.config;
  const exporter = options.exporter ??
    new OTLPTraceExporter({ url: tracesUrl(config?.otlp_endpoint ?? "http://127.0.0.1:4318") });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": config?.service_name ?? "ics" }),
    sampler: new ParentBasedSampler({
      root: new TraceIdRatioBasedSampler(config?.sample_ratio ?? 1),
    }),
    spanLimits: { linkCountLimit: MAX_LINKS },
    spanProcessors: [
      options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ],
  });
  const tracer = provider.getTracer("ics");
  return {
    enabled,
    batch: (records, attributes = {}) => tracedBatch(tracer, timer, records, attributes),
    close: () => provider.shutdown(),
  };
}

function tracedBatch(
  tracer: OtelTracer,
  timer: (name: Stage) => () => void,
  records: number,
  attributes: Record<string, string | number>,
): BatchTrace {
  const span = tracer.startSpan("batch", {
    kind: SpanKind.CONSUMER,
    root: true,
    attributes: { "messaging.batch.message_count": records, ...attributes },
  });
  const parent = trace.setSpan(ROOT_CONTEXT, span);
  const stage = (name: Stage) => {
    const done = timer(name);
    const child = tracer.startSpan(name, { attributes: { "ics.stage": name } }, parent);
    return (error?: unknown) => {
      done();
      finish(child, error);
    };
  };
  return {
    stage,
    async time(name, fn) {
      const done = stage(name);
      try {
        const result = await fn();
        done();
        return result;
      } catch (error) {
        done(error);
        throw error;
      }
    },
    link(events) {
      if (!span.isRecording()) return;
      const seen = new Set<string>();
      const links: Link[] = [];
      for (const { event, record } of events) {
        const context = producerContext(event, record.headers);
        if (!context || seen.has(context.spanId)) continue;
        seen.add(context.spanId);
        links.push({ context, attributes: { "ics.event_id": String(event.event_id) } });
      }
      span.addLinks(links);
    },
    end: (error) => finish(span, error),
  };
}

function finish(span: Span, error?: unknown) {
  if (error !== undefined) {
    // Spans leave the process: messages and stacks are redacted (a message may quote a URL).
    const e = error instanceof Error ? error : undefined;
    span.recordException({
      name: e?.name ?? "Error",
      message: redactError(error),
      ...(e?.stack ? { stack: redact(e.stack) } : {}),
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: redactError(error) });
  }
  span.end();
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

/**
 * The producer's span of an event: its W3C `traceparent` field, else `trace_id` + `span_id`, else
 * a `traceparent` header. Undefined when none is present and valid.
 */
export function producerContext(
  event: Record<string, unknown>,
  headers?: Record<string, string>,
): SpanContext | undefined {
  return parseTraceparent(event.traceparent) ??
    fromIds(event.trace_id, event.span_id) ??
    parseTraceparent(headers?.traceparent);
}

/** A W3C `traceparent` value (version 00, or a later one read as 00) as a remote span context. */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== "string") return undefined;
  const m = TRACEPARENT.exec(value.trim().toLowerCase());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined)) return undefined;
  if (ZEROS.test(m[2]) || ZEROS.test(m[3])) return undefined;
  return { traceId: m[2], spanId: m[3], traceFlags: parseInt(m[4], 16) & 1, isRemote: true };
}

function fromIds(traceId: unknown, spanId: unknown): SpanContext | undefined {
  if (typeof traceId !== "string" || typeof spanId !== "string") return undefined;
  const t = traceId.toLowerCase();
  const s = spanId.toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(t) || !/^[0-9a-f]{16}$/.test(s) || ZEROS.test(t) || ZEROS.test(s)) {
    return undefined;
  }
  return { traceId: t, spanId: s, traceFlags: TraceFlags.NONE, isRemote: true };
}

/** OTLP/HTTP traces URL from a base endpoint (the `OTEL_EXPORTER_OTLP_ENDPOINT` convention). */
export function tracesUrl(endpoint: string): string {
  const base = endpoint.replace(/\/+$/, "");
  return base.endsWith("/v1/traces") ? base : `${base}/v1/traces`;
}
