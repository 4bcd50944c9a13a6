/**
 * The observability endpoint after a run on the bundled samples: `/metrics` counts exactly the
 * known input, `/healthz` answers, `/readyz` names every component; a failing component makes
 * `/readyz` 503 with its name; the CLI rejects a bad or busy `--metrics-port`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";
import { createObserver } from "../src/cli/_observe.ts";
import { createTelemetry } from "../src/telemetry/mod.ts";
import { serveTelemetry } from "../src/telemetry/http.ts";

const root = new URL("..", import.meta.url).pathname;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the Prometheus text format (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** name → label value → value, for metrics with one label (or "" for none). */
function byLabel(samples: Sample[], name: string, label?: string): Record<string, number> {
  return Object.fromEntries(
    samples.filter((s) => s.name === name).map((s) => [label ? s.labels[label] : "", s.value]),
  );
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Bytes of the non-blank lines of the samples, without line ends (what the file source reads). */
async function sampleBytes(): Promise<number> {
  const bytes = await Deno.readFile(join(root, "samples/events.jsonl"));
  let total = 0;
  for (let start = 0; start < bytes.length;) {
    const nl = bytes.indexOf(10, start);
    const end = nl === -1 ? bytes.length : nl;
    const line = bytes.subarray(start, bytes[end - 1] === 13 ? end - 1 : end);
    if (line.some((b) => b !== 32 && b !== 9 && b !== 13)) total += line.length;
    start = end + 1;
  }
  return total;
}

Deno.test("/metrics after a run on the samples counts exactly the known input", async () => {
  const { spec, errors } = await loadSpec(join(root, "pipeline.yaml"));
  assert.ok(spec, JSON.stringify(errors));
  const state = await Deno.makeTempDir({ prefix: "ics-metrics-" });
  const pipeline = await compile(spec, { stateDir: state });
  const observer = createObserver(true);
  const port = freePort();
  try {
    await observer.start(pipeline, port);
    const base = `http://127.0.0.1:${port}`;
    await run(pipeline);

    const response = await fetch(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const m = parseExposition(await response.text());

    assert.deepEqual(byLabel(m, "ics_events_received_total", "stream"), {
      acc: 36,
      bdv: 188,
      dde: 124,
      unknown: 3,
    });
    assert.deepEqual(byLabel(m, "ics_events_processed_total", "stream"), {
      acc: 34,
      bdv: 180,
      dde: 121,
    });
    assert.deepEqual(byLabel(m, "ics_bytes_received_total"), { "": await sampleBytes() });
    assert.deepEqual(byLabel(m, "ics_dedup_dropped_total"), { "": 10 });
    assert.deepEqual(byLabel(m, "ics_dlq_events_total", "category"), {
      decode_error: 2,
      mapping_error: 1,
      schema_violation: 3,
    });
    assert.deepEqual(byLabel(m, "ics_entity_versions_total"), { "": 231 });
    assert.deepEqual(byLabel(m, "ics_relationship_versions_total"), { "": 116 });
    assert.deepEqual(byLabel(m, "ics_link_versions_total"), { "": 65 });
    assert.deepEqual(byLabel(m, "ics_correlation_links_retracted_total"), { "": 0 });
    assert.deepEqual(byLabel(m, "ics_correlation_links_total", "rule"), {
      "artifact-module-name": 12,
      "artifact-module-path": 9,
      "feature-artifact-stem": 12,
      "module-task-node-id": 3,
      "scenario-contract-id": 3,
      "scenario-contract-tag": 5,
      "scenario-task-node-id": 3,
      "task-scenario-heuristic": 27,
    });
    // The golden link set (testdata/samples_links.json) has 18, 23 and 24 links in these bands.
    assert.deepEqual(byLabel(m, "ics_links_by_confidence_total", "band"), {
      "0.3-0.5": 24,
      "0.7-0.9": 23,
      "0.9-1.0": 18,
    });
    // Near misses: candidates evaluated below their rule's threshold. Fuzzy file paths block on
    // the words a pair must share to reach 0.85, so the samples' planted near misses are no
    // candidates (explain still scores them); the heuristic's time window lets some through.
    const near = byLabel(m, "ics_correlation_near_misses_total", "rule");
    assert.deepEqual(Object.keys(near).sort(), ["task-scenario-heuristic"]);
    assert.ok(Object.values(near).every((v) => v > 0));
    assert.deepEqual(byLabel(m, "ics_batches_total"), { "": 1 });
    assert.deepEqual(byLabel(m, "ics_retries_total", "component"), {});
    assert.deepEqual(byLabel(m, "ics_sink_errors_total", "component"), {});
    assert.deepEqual(byLabel(m, "ics_consumer_lag", "topic"), {}); // a file source has no lag

    // Histograms: one batch of 351 records, each stage timed once, e2e per processed event.
    assert.deepEqual(byLabel(m, "ics_batch_size_count"), { "": 1 });
    assert.deepEqual(byLabel(m, "ics_batch_size_sum"), { "": 351 });
    assert.deepEqual(byLabel(m, "ics_stage_seconds_count", "stage"), {
      decode: 1,
      dedup: 1,
      map: 1,
      correlate: 1,
      write_graph: 1,
      write_metrics: 1,
      write_dlq: 1,
      commit: 1,
    });
    assert.deepEqual(byLabel(m, "ics_e2e_latency_seconds_count", "stream"), {
      acc: 34,
      bdv: 180,
      dde: 121,
    });
    const inf = m.filter((s) =>
      s.name === "ics_e2e_latency_seconds_bucket" && s.labels.le === "+Inf"
    );
    assert.equal(inf.reduce((a, s) => a + s.value, 0), 335);
    // Every component has its series from the start, at 1 while it works.
    assert.deepEqual(byLabel(m, "ics_component_up", "component"), {
      source: 1,
      dedup: 1,
      graph: 1,
      metrics: 1,
      dlq: 1,
    });
    // Process metrics (prom-client defaults) for the resources dashboard: real values, none of
    // them 0. Those read from /proc/self exist only where it can be read (Deno: --allow-all; the
    // next test covers both cases in processes of their own).
    const one = (name: string) => {
      const found = m.filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} sample`);
      return found[0].value;
    };
    assert.ok(one("process_resident_memory_bytes") > 0);
    assert.ok(one("process_cpu_seconds_total") >= 0);
    assert.ok(one("nodejs_heap_size_used_bytes") > 0);
    if (await Deno.readTextFile("/proc/self/limits").then(() => true, () => false)) {
      assert.ok(one("process_virtual_memory_bytes") > one("process_resident_memory_bytes"));
      assert.ok(one("process_heap_bytes") > 0);
      const fds = one("process_open_fds");
      assert.ok(fds > 3, `${fds} open file descriptors`); // stdio, the SQLite files, the listener
      const limits = await Deno.readTextFile("/proc/self/limits");
      assert.equal(one("process_max_fds"), Number(/^Max open files\s+(\d+)/m.exec(limits)![1]));
    } else {
      assert.ok(!m.some((s) => s.name === "process_open_fds"), "no fd count it cannot read");
    }

    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: "alive",
      components: { source: "ok", dedup: "ok", graph: "ok", metrics: "ok", dlq: "ok" },
    });

    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), {
      status: "ready",
      degraded: [],
      components: {
        source: { type: "file", status: "ok" },
        dedup: { type: "memory", status: "ok" },
        graph: { type: "sqlite", status: "ok" },
        metrics: { type: "sqlite", status: "ok" },
        dlq: { type: "file", status: "ok" },
      },
    });
    const missing = await fetch(`${base}/nope`);
    assert.equal(missing.status, 404);
    await missing.body?.cancel();
  } finally {
    await observer.stop();
    await pipeline.close();
  }
});

Deno.test("/readyz answers 503 and names each degraded component", async () => {
  const telemetry = createTelemetry();
  const endpoint = await serveTelemetry({
    port: 0,
    hostname: "127.0.0.1",
    telemetry,
    check_timeout_ms: 100,
    components: {
      source: { type: "kafka", check: () => Promise.reject(new Error("broker 127.0.0.1:1 down")) },
      graph: { type: "neo4j", check: () => new Promise(() => {}) },
      metrics: { type: "postgres", check: () => Promise.resolve() },
      dlq: { type: "file", check: () => Promise.resolve() },
    },
  });
  try {
    // What the runtime saw counts even when the live check passes (the pipeline still waits).
    telemetry.health.set("metrics", "retrying", "connection refused (attempt 3)");
    const r = await fetch(`http://127.0.0.1:${endpoint.port}/readyz`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), {
      status: "unavailable",
      degraded: ["source", "graph", "metrics"],
      components: {
        source: { type: "kafka", status: "failed", error: "broker 127.0.0.1:1 down" },
        graph: { type: "neo4j", status: "failed", error: "no answer within 100 ms" },
        metrics: {
          type: "postgres",
          status: "retrying",
          detail: "connection refused (attempt 3)",
        },
        dlq: { type: "file", status: "ok" },
      },
    });
    const h = await fetch(`http://127.0.0.1:${endpoint.port}/healthz`);
    assert.equal(h.status, 200); // alive, though not ready
    assert.deepEqual(await h.json(), {
      status: "degraded",
      components: {
        source: "ok",
        graph: "ok",
        metrics: "retrying: connection refused (attempt 3)",
        dlq: "ok",
      },
    });
    const m = parseExposition(
      await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text(),
    );
    assert.deepEqual(byLabel(m, "ics_component_up", "component"), { metrics: 0 });
  } finally {
    await endpoint.close();
  }
});

Deno.test("/readyz stays 200 while only a component the pipeline works around is down", async () => {
  const telemetry = createTelemetry();
  const endpoint = await serveTelemetry({
    port: 0,
    hostname: "127.0.0.1",
    telemetry,
    components: {
      dedup: {
        type: "redis",
        required: false,
        check: () => Promise.reject(new Error("Redis is unavailable")),
      },
      graph: { type: "neo4j", check: () => Promise.resolve() },
    },
  });
  try {
    telemetry.health.set("dedup", "degraded", "unavailable, keys taken as unseen");
    const r = await fetch(`http://127.0.0.1:${endpoint.port}/readyz`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), {
      status: "degraded",
      degraded: ["dedup"],
      components: {
        dedup: {
          type: "redis",
          status: "degraded",
          detail: "unavailable, keys taken as unseen",
          error: "Redis is unavailable",
        },
        graph: { type: "neo4j", status: "ok" },
      },
    });
    telemetry.health.set("dedup", "ok");
    const m = parseExposition(
      await (await fetch(`http://127.0.0.1:${endpoint.port}/metrics`)).text(),
    );
    assert.deepEqual(byLabel(m, "ics_component_up", "component"), { dedup: 1 });
  } finally {
    await endpoint.close();
  }
});

async function ics(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-net", "src/cli/main.ts"]
      .concat(args),
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("ics run rejects a bad --metrics-port and reports a busy one as a usage error", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-metrics-cli-" });
  const bad = await ics("run", "--state", state, "--metrics-port", "80a");
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--metrics-port "80a" is not a whole number from 0 to 65535/);

  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const busy = await ics("run", "--state", state, "--metrics-port", String(port));
    assert.equal(busy.code, 2, busy.stderr);
    assert.match(busy.stderr, new RegExp(`metrics port ${port} on 0\\.0\\.0\\.0 is in use`));
    assert.doesNotMatch(busy.stderr, /^ {4}at /m);
  } finally {
    listener.close();
  }
});

Deno.test("ics run serves the endpoint on --metrics-port while it runs and prints no status line into a pipe", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-metrics-cli-" });
  const port = freePort();
  const out = await ics("run", "--state", state, "--metrics-port", String(port));
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stderr.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(
    lines.some((l) =>
      l.level === "info" && l.component === "http" &&
      l.message.startsWith(`serving http://0.0.0.0:${port}/metrics`)
    ),
    out.stderr,
  );
  assert.doesNotMatch(out.stderr, /ics ▸/); // stderr is a pipe: no status line
  assert.match(out.stdout, /events read\s+351 /);
});

/** The process metrics a fresh process exports under the given permissions. */
async function scrape(permissions: string[]) {
  const script = `
    import { createTelemetry } from "${new URL("../src/telemetry/mod.ts", import.meta.url)}";
    const t = createTelemetry();
    t.collectProcessMetrics();
    console.log(await t.registry.metrics());`;
  const dir = await Deno.makeTempDir({ prefix: "ics-process-metrics-" });
  const file = join(dir, "scrape.ts");
  await Deno.writeTextFile(file, script);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", join(root, "deno.json"), "--no-prompt", ...permissions, file],
    cwd: root,
  }).output().finally(() => Deno.remove(dir, { recursive: true }));
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return parseExposition(new TextDecoder().decode(out.stdout));
}

const PROC = [
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

Deno.test("without --allow-all the process metrics Deno cannot read are left out, never 0", async () => {
  // The permissions of `deno task run`: /proc/self is closed, Deno.memoryUsage() is not.
  const m = await scrape(["--allow-read", "--allow-env"]);
  const names = new Set(m.map((s) => s.name));
  for (const name of PROC) {
    assert.ok(!names.has(name), `${name} is exported without a way to read it`);
  }
  const rss = m.find((s) => s.name === "process_resident_memory_bytes");
  assert.ok(rss && rss.value > 0);
  assert.ok(
    !m.some((s) => s.name.startsWith("process_") && s.name.endsWith("_bytes") && s.value === 0),
  );
});

Deno.test("with --allow-all the process metrics read /proc/self: real values, none 0", async () => {
  const m = await scrape(["--allow-all"]);
  const one = (name: string) => {
    const found = m.filter((s) => s.name === name);
    assert.equal(found.length, 1, `one ${name} sample`);
    return found[0].value;
  };
  assert.ok(one("process_virtual_memory_bytes") > one("process_resident_memory_bytes"));
  assert.ok(one("process_heap_bytes") > 0);
  assert.ok(one("process_open_fds") >= 3);
  const limits = await Deno.readTextFile("/proc/self/limits").catch(() => "");
  const soft = /^Max open files\s+(\d+)/m.exec(limits);
  assert.ok(soft ? one("process_max_fds") === Number(soft[1]) : one("process_max_fds") > 0);
});
