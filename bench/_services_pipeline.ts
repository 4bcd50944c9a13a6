/**
 * One pipeline run of `bench/services.ts`, in its own process (its own event loop and heap):
 * `compile()` + `run()` on the services target of the private spec copy, with `drain` or live
 * until SIGTERM. The components are wrapped, not changed: each dedup `seen()` call and each graph
 * `write()` (one transaction per batch) is timed, with its size and wall-clock end (`Date.now()`,
 * the clock the caller shares, so it can split the samples by phase); in live mode the moment
 * each key's batch is committed is recorded (`commit()` is the runtime's last step of a batch,
 * after the graph, metrics, dead letters and offsets). Event-loop lag is the runtime's own
 * sampling (`ics_event_loop_lag_seconds`, every 20 ms), each observation also kept with its time.
 *
 *   deno run -A bench/_services_pipeline.ts SPEC STATE_DIR drain|live OUT.json
 * @module
 */
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";
import { createTelemetry } from "../src/telemetry/mod.ts";
import type { DedupStore, Source, SourceBatch } from "../src/core/component.ts";

const [specFile, stateDir, mode, outFile] = Deno.args;
const live = mode === "live";
const { spec, errors } = await loadSpec(specFile);
if (!spec) throw new Error(JSON.stringify(errors));

// The runtime's event-loop lag observations, each with its time: [Date.now(), ms].
const lags: [number, number][] = [];
const telemetry = createTelemetry();
const observe = telemetry.observe.bind(telemetry);
telemetry.observe = (name, value, labels) => {
  if (name === "event_loop_lag_seconds") lags.push([Date.now(), value * 1000]);
  observe(name, value, labels);
};

const p = await compile(spec, {
  telemetry,
  target: "services",
  drain: !live,
  stateDir,
  log: (level, message) => {
    if (level !== "info") console.error(`pipeline ${level}: ${message}`);
  },
});

/** Dedup checks: [end (Date.now()), keys, ms]. */
const seen: [number, number, number][] = [];
const committedKeys: string[] = [];
const committedAt: number[] = [];
const store = p.dedup;
p.dedup = {
  async seen(keys) {
    const t0 = performance.now();
    const r = await store.seen(keys);
    seen.push([Date.now(), keys.length, performance.now() - t0]);
    return r;
  },
  async commit(keys) {
    await store.commit(keys);
    if (!live) return;
    const now = Date.now();
    for (const k of keys) committedKeys.push(k.key), committedAt.push(now);
  },
  legacy: store.legacy,
  check: () => store.check(),
  close: () => store.close(),
} satisfies DedupStore;

let firstBatch: number | undefined;
const source = p.source;
p.source = {
  ...source,
  async *batches(signal): AsyncIterable<SourceBatch> {
    for await (const b of source.batches(signal)) {
      firstBatch ??= performance.now();
      yield b;
    }
  },
} satisfies Source;

// The graph model reads the store for iterations it does not hold (`prepare()` → `load()`).
const graph = p.graph;
const load = graph.load.bind(graph);
const loads: number[] = [];
graph.load = async (iterations) => {
  const t0 = performance.now();
  try {
    return await load(iterations);
  } finally {
    loads.push(performance.now() - t0);
  }
};

// Each graph write (one transaction per batch): [end (Date.now()), versions opened + closed, ms].
const write = graph.write.bind(graph);
const writes: [number, number, number][] = [];
graph.write = async (changes, ...rest) => {
  const t0 = performance.now();
  await write(changes, ...rest);
  writes.push([
    Date.now(),
    changes.opened.length + changes.closed.length,
    performance.now() - t0,
  ]);
};

const controller = new AbortController();
Deno.addSignalListener("SIGTERM", () => controller.abort());
console.log("ready");
const started = performance.now();
const result = await run(p, controller.signal);
const ended = performance.now();
const stages: Record<string, number> = {};
const histogram = p.telemetry.registry.getSingleMetric("ics_stage_seconds");
for (const v of (await histogram?.get())?.values ?? []) {
  const name = (v as { metricName?: string }).metricName;
  if (name?.endsWith("_sum")) stages[String(v.labels.stage)] = v.value;
}
await p.close();
const t = result.telemetry;
const status = await Deno.readTextFile("/proc/self/status");
await Deno.writeTextFile(
  outFile,
  JSON.stringify({
    elapsed_ms: result.elapsed_ms,
    first_batch_ms: firstBatch === undefined ? null : ended - firstBatch,
    startup_ms: firstBatch === undefined ? null : firstBatch - started,
    received: t.get("events_received_total"),
    processed: t.get("events_processed_total"),
    duplicates: t.get("dedup_dropped_total"),
    dead_letters: t.get("dlq_events_total"),
    batches: t.get("batches_total"),
    node_versions: t.get("entity_versions_total"),
    relationship_versions: t.get("relationship_versions_total"),
    link_versions: t.get("link_versions_total"),
    closed: t.get("versions_closed_total"),
    retries: t.get("retries_total"),
    stages,
    seen,
    loads,
    writes,
    lags,
    committed: { keys: committedKeys, at: committedAt },
    peak_rss_kb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0),
  }),
);
