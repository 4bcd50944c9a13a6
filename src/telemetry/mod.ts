/**
 * Telemetry: counters with fixed names and labels, so dashboards and alerts can rely on them.
 * The runtime counts; the CLI prints a summary from them; exporters (Prometheus, OpenTelemetry)
 * read the same registry.
 *
 * Prometheus (prom-client): every counter is exported 1:1 as `ics_<name>` with the label names of
 * {@link COUNTER_LABELS}, read from the counters at scrape time (the hot path only adds to a map);
 * the histograms of {@link HISTOGRAMS} and the consumer lag gauge live in the prom-client registry.
 * The HTTP endpoint is `./http.ts`, tracing `./tracing.ts`.
 * @module
 */
import client from "prom-client";
import { createHealth, type Health } from "./health.ts";
import { registerProcessMetrics } from "./_process.ts";

export type { ComponentHealth, Health, HealthStatus } from "./health.ts";

export const COUNTERS = {
  events_received_total: "Records read from the source, by stream (unknown before decoding).",
  events_processed_total: "Events that passed decode, validation and dedup, by stream.",
  bytes_received_total: "Payload bytes read from the source.",
  dedup_dropped_total: "Duplicate events dropped.",
  dedup_collisions_total:
    "Events whose idempotency key was seen with other content: processed as distinct, by stream.",
  entity_versions_total: "Node versions opened.",
  relationship_versions_total: "Relationship versions opened.",
  link_versions_total: "Link versions opened (new links and rescored ones).",
  versions_closed_total: "Versions closed (superseded), by kind.",
  correlation_links_total: "Link versions opened, by contributing rule.",
  correlation_links_retracted_total: "Links closed because their evidence fell away.",
  dlq_events_total: "Dead letters, by category.",
  batches_total: "Batches committed.",
  retries_total: "Retried sink or store calls, by component.",
  sink_errors_total:
    "Failed sink or store calls (each failed attempt, retried or not), by component.",
  links_by_confidence_total: "Link versions opened, by confidence band.",
  dedup_unchecked_total:
    "Keys taken as unseen because the dedup store was unreachable (on_unavailable: sink_idempotency).",
  correlation_near_misses_total:
    "Candidate pairs a rule evaluated without firing (below its threshold), per evaluation, by rule.",
} as const;

export type CounterName = keyof typeof COUNTERS;
export type Labels = Record<string, string>;

/** Label names of each counter: the Prometheus label schema (call sites pass exactly these). */
export const COUNTER_LABELS: Record<CounterName, readonly string[]> = {
  events_received_total: ["stream"],
  events_processed_total: ["stream"],
  bytes_received_total: [],
  dedup_dropped_total: [],
  dedup_collisions_total: ["stream"],
  entity_versions_total: [],
  relationship_versions_total: [],
  link_versions_total: [],
  versions_closed_total: ["kind"],
  correlation_links_total: ["rule"],
  correlation_links_retracted_total: [],
  dlq_events_total: ["category"],
  batches_total: [],
  retries_total: ["component"],
  sink_errors_total: ["component"],
  links_by_confidence_total: ["band"],
  dedup_unchecked_total: [],
  correlation_near_misses_total: ["rule"],
};

/** Prefix of every exported metric name. */
export const PREFIX = "ics_";

/** The timed stages of a batch (`ics_stage_seconds{stage}`, and one span each when tracing). */
export const STAGES = [
  "decode",
  "dedup",
  "map",
  "correlate",
  "write_graph",
  "write_metrics",
  "write_dlq",
  "commit",
] as const;
export type Stage = typeof STAGES[number];

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const HISTOGRAMS = {
  batch_size: {
    help: "Records per batch read from the source.",
    labels: [],
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 50_000],
  },
  stage_seconds: {
    help: "Time a batch spends in each stage, in seconds, by stage.",
    labels: ["stage"],
    buckets: SECONDS,
  },
  e2e_latency_seconds: {
    help: "From the event's timestamp to the commit of its batch (every sink holds it), by stream.",
    labels: ["stream"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86_400],
  },
  graphql_request_duration_seconds: {
    help:
      "Time to answer a GraphQL API request, in seconds, by kind: its root field (iterations, " +
      "iteration, entity, links, explain, deadLetters, a label's root), multiple, introspection, " +
      "invalid (refused before it ran) or timeout.",
    labels: ["kind"],
    buckets: SECONDS,
  },
  event_loop_lag_seconds: {
    help: "How late a timer due every 20 ms fired while the pipeline ran: the longest the event " +
      "loop was held by synchronous work, sampled.",
    labels: [],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  },
} as const;
export type HistogramName = keyof typeof HISTOGRAMS;

export const GAUGES = {
  consumer_lag: {
    help: "Records behind the end of the input, by topic and partition (set by log sources).",
    labels: ["topic", "partition"],
  },
  component_up: {
    help: "1 while a component works; 0 while calls to it are being retried, or worked around " +
      "(dedup under on_unavailable: sink_idempotency), by component.",
    labels: ["component"],
  },
} as const;

/** Confidence bands of `links_by_confidence_total` (lower bound inclusive). */
export const CONFIDENCE_BANDS = ["0.0-0.3", "0.3-0.5", "0.5-0.7", "0.7-0.9", "0.9-1.0"] as const;

export function confidenceBand(confidence: number): string {
  return confidence >= 0.9
    ? "0.9-1.0"
    : confidence >= 0.7
    ? "0.7-0.9"
    : confidence >= 0.5
    ? "0.5-0.7"
    : confidence >= 0.3
    ? "0.3-0.5"
    : "0.0-0.3";
}

export interface Telemetry {
  add(name: CounterName, value?: number, labels?: Labels): void;
  /** Total of a counter, optionally for one label value. */
  get(name: CounterName, labels?: Labels): number;
  /** Every series of a counter: label values → total. */
  series(name: CounterName): { labels: Labels; value: number }[];
  /** Record one observation in a histogram. */
  observe(name: HistogramName, value: number, labels?: Labels): void;
  /** Consumer lag of one partition (what a log source calls after each fetch). */
  setLag(topic: string, partition: number, lag: number): void;
  /** Total lag over all partitions; undefined while no source reported one. */
  lag(): number | undefined;
  /** The Prometheus registry (prom-client) holding every `ics_` metric. */
  readonly registry: client.Registry;
  /** Health of each component as the runtime sees it (`ics_component_up`). */
  readonly health: Health;
  /** Also export the process metrics (CPU, memory, event loop) of prom-client's defaults. */
  collectProcessMetrics(): void;
  /** Sample the event loop's lag (`event_loop_lag_seconds`) until `stop()`. */
  watchEventLoop(): { stop(): void };
}

export function createTelemetry(): Telemetry {
  const values = new Map<string, { name: CounterName; labels: Labels; value: number }>();
  const registry = new client.Registry();
  const series = (name: CounterName) =>
    [...values.values()].filter((s) => s.name === name).map(({ labels, value }) => ({
      labels,
      value,
    }));
  for (const name of Object.keys(COUNTERS) as CounterName[]) {
    new client.Counter({
      name: PREFIX + name,
      help: COUNTERS[name],
      labelNames: COUNTER_LABELS[name],
      registers: [registry],
      // Read at scrape time: the counters above stay the single source of truth.
      collect() {
        this.reset();
        for (const s of series(name)) this.inc(s.labels, s.value);
      },
    });
  }
  const histograms = Object.fromEntries(
    Object.entries(HISTOGRAMS).map(([name, h]) => [
      name,
      new client.Histogram({
        name: PREFIX + name,
        help: h.help,
        labelNames: h.labels,
        buckets: [...h.buckets],
        registers: [registry],
      }),
    ]),
  ) as Record<HistogramName, client.Histogram>;
  const children = new Map<string, { observe(value: number): void }>();
  const lagGauge = new client.Gauge({
    name: PREFIX + "consumer_lag",
    help: GAUGES.consumer_lag.help,
    labelNames: GAUGES.consumer_lag.labels,
    registers: [registry],
  });
  const lags = new Map<string, number>();
  let processMetrics = false;
  // Hot path: called per event. Each call site passes its labels in one fixed order.
  const id = (name: string, labels: Labels) => {
    let k = name;
    for (const l in labels) k += "\u0000" + l + "=" + labels[l];
    return k;
  };
  return {
    add(name, value = 1, labels = {}) {
      const k = id(name, labels);
      const s = values.get(k);
      if (s) s.value += value;
      else values.set(k, { name, labels, value });
    },
    get(name, labels) {
      let total = 0;
      for (const s of values.values()) {
        if (s.name !== name) continue;
        if (labels && !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
        total += s.value;
      }
      return total;
    },
    series,
    observe(name, value, labels = {}) {
      const k = id(name, labels);
      let child = children.get(k);
      if (!child) children.set(k, child = histograms[name].labels(labels));
      child.observe(value);
    },
    setLag(topic, partition, lag) {
      lags.set(`${topic}\u0000${partition}`, lag);
      lagGauge.set({ topic, partition: String(partition) }, lag);
    },
    lag() {
      if (lags.size === 0) return undefined;
      let total = 0;
      for (const v of lags.values()) total += v;
      return total;
    },
    registry,
    health: createHealth(
      new client.Gauge({
        name: PREFIX + "component_up",
        help: GAUGES.component_up.help,
        labelNames: GAUGES.component_up.labels,
        registers: [registry],
      }),
    ),
    watchEventLoop() {
      const every = 20;
      let due = performance.now() + every;
      const timer = setInterval(() => {
        const now = performance.now();
        this.observe("event_loop_lag_seconds", Math.max(0, now - due) / 1000);
        due = now + every;
      }, every);
      Deno.unrefTimer(timer); // a sampler never keeps the process alive
      return { stop: () => clearInterval(timer) };
    },
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      client.collectDefaultMetrics({ register: registry });
      // Those prom-client reads from /proc/self (0 under Deno without --allow-all): ours.
      registerProcessMetrics(registry);
    },
  };
}

/** Every metric name ics exports (histograms without their `_bucket`/`_sum`/`_count` suffixes). */
export async function metricNames(t: Telemetry): Promise<string[]> {
  t.collectProcessMetrics();
  return (await t.registry.getMetricsAsJSON()).map((m) => m.name).sort();
}
