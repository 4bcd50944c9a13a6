/**
 * Neo4j and Postgres unavailable for 20 s mid-run (the number), through proxies: Neo4j
 * refuses connections, Postgres accepts and never answers (timeouts). The runner retries with
 * capped exponential backoff, reads no more than its bounded queue holds meanwhile, says what is
 * down on /healthz, /readyz and ics_component_up, resumes, and ends with exactly the graph and
 * metric rows of an uninterrupted run: transient errors drop nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import { run as runPipeline } from "../../src/runtime/mod.ts";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import {
  deleteFromNeo4j,
  expected as reference,
  graphOf,
  letters,
  pipeline,
  until,
  workspace,
} from "./_outage.ts";
import { serveTelemetry } from "../../src/telemetry/http.ts";
import { checkedComponents } from "../../src/cli/_observe.ts";

const OUTAGE_MS = 20_000;
const BATCH = 20;
const run = `ox${Date.now().toString(36)}`;

serviceTest(
  "Neo4j and Postgres down for 20 s mid-run: retried, paused, reported, nothing lost",
  ["neo4j", "postgres"],
  async () => {
    await using neo = await startProxy(hostPort("neo4j"));
    await using pg = await startProxy(hostPort("postgres"));
    const pgSchema = `outage_${run}`;
    const pgUrl = new URL(SERVICES.postgres);
    pgUrl.host = pg.address;
    await using ws = await workspace(run, (spec) => {
      spec.runtime.retry = { initial_ms: 100, max_ms: 2000 };
      spec.targets.outage = {
        source: spec.targets.local.source,
        dedup: { type: "memory" },
        graph: { type: "neo4j", uri: `bolt://${neo.address}` },
        metrics: {
          type: "postgres",
          url: pgUrl.toString(),
          schema: pgSchema,
          connect_timeout_ms: 1000,
        },
        dlq: { type: "file", path: "dlq.jsonl" },
      };
    }, { batch: BATCH });
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    try {
      const expected = await reference(ws);
      const p = await pipeline(ws, "outage", "state");
      const t = p.telemetry;
      const endpoint = await serveTelemetry({
        port: 0,
        hostname: "127.0.0.1",
        telemetry: t,
        components: checkedComponents(p),
      });
      const base = `http://127.0.0.1:${endpoint.port}`;

      // The fault, timed to the third batch's graph write: both services go away, for 20 s.
      // Just before they return: how much was read, and written, while the pipeline stalled.
      let writes = 0;
      let restored: Promise<{ read: number; written: number }> | undefined;
      const write = p.graph.write.bind(p.graph);
      p.graph.write = async (changes) => {
        if (++writes === 3) {
          await pg.down("blackhole");
          await neo.down("refuse");
          restored = (async () => {
            await new Promise((r) => setTimeout(r, OUTAGE_MS));
            const seen = { read: t.get("events_received_total"), written: t.get("batches_total") };
            await neo.up();
            await pg.up();
            return seen;
          })();
        }
        return write(changes);
      };
      const running = runPipeline(p);

      // During the outage: both components retrying, not ready, consumption paused.
      await until(
        () =>
          t.health.get("graph").status === "retrying" &&
          t.health.get("metrics").status === "retrying",
        "graph and metrics to be retried",
      );
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 503);
      const readiness = await ready.json();
      assert.equal(readiness.status, "unavailable");
      assert.deepEqual(readiness.degraded, ["graph", "metrics"]);
      assert.equal(readiness.components.graph.status, "retrying");
      assert.match(readiness.components.graph.detail, /Neo4j .* \(attempt \d+\)$/);
      assert.equal(readiness.components.metrics.status, "retrying");
      assert.match(readiness.components.metrics.detail, /Postgres .* \(attempt \d+\)$/);
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200); // alive: a dependency outage is no reason to restart it
      const liveness = await health.json();
      assert.equal(liveness.status, "degraded");
      assert.match(liveness.components.graph, /^retrying: Neo4j/);
      assert.equal(liveness.components.dedup, "ok");
      const up = (text: string) =>
        Object.fromEntries(
          [...text.matchAll(/^ics_component_up\{component="(\w+)"\} (\d+)$/gm)]
            .map((m) => [m[1], Number(m[2])]),
        );
      // Every component has its series (1 since it opened); the two that are down are 0.
      assert.deepEqual(up(await (await fetch(`${base}/metrics`)).text()), {
        source: 1,
        dedup: 1,
        graph: 0,
        metrics: 0,
        dlq: 1,
      });

      // 20 s later, just before the services return: nothing written meanwhile, and no more read
      // than the queue holds (the batch being written, queue_batches queued, one processed and
      // waiting to be queued): consumption paused instead of buffering.
      const { read, written } = await restored!;
      assert.equal(written, 2, "batches written before the outage");
      const held = (1 + p.spec.spec.runtime.queue_batches + 1) * BATCH;
      assert.ok(read <= written * BATCH + held, `${read} records read while stalled`);
      assert.ok(read < ws.lines, "the whole input was read: consumption did not pause");
      assert.ok(t.get("retries_total", { component: "graph" }) >= 2);
      assert.ok(t.get("retries_total", { component: "metrics" }) >= 2);

      try {
        await running;
        // The graph of an uninterrupted run, version for version.
        const got = await graphOf(p.graph, ws.iterations);
        assert.equal(got.length, expected.graph.length);
        assert.deepEqual(got, expected.graph);
      } finally {
        await p.close();
      }
      assert.deepEqual(up(await (await fetch(`${base}/metrics`)).text()), {
        source: 1,
        dedup: 1,
        graph: 1,
        metrics: 1,
        dlq: 1,
      });
      await endpoint.close();

      // Metric rows: once per processed event.
      const rows = async (table: string) =>
        (await sql.unsafe(
          `SELECT count(*)::int AS n, count(DISTINCT event_key)::int AS keys FROM ${pgSchema}.${table}`,
        ))[0];
      const processed = t.get("events_processed_total");
      const e2e = await rows("e2e_latency_metrics");
      assert.deepEqual(e2e, { n: processed, keys: processed });
      let perStream = 0;
      for (const s of ["dde", "bdv", "acc"]) {
        const r = await rows(`${s}_event_metrics`);
        assert.equal(r.n, r.keys);
        assert.equal(r.n, t.get("events_processed_total", { stream: s }));
        perStream += r.n;
      }
      assert.equal(perStream, processed);
      // Transient errors never dead-letter: only the samples' malformed lines are in the DLQ.
      assert.deepEqual(await letters(join(ws.dir, "state")), expected.letters);
      assert.ok(!expected.letters.includes("sink_error"));

      const logs = ws.logs.join("\n");
      assert.match(logs, /warn: graph failed \(attempt 1\), retrying: Neo4j/);
      assert.match(logs, /warn: metrics failed \(attempt 1\), retrying: Postgres/);
      assert.match(logs, /info: graph is available again/);
      assert.match(logs, /info: metrics is available again/);
    } finally {
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      await sql.end();
      await deleteFromNeo4j(ws.iterations);
    }
  },
);
