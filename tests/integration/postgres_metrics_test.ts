/**
 * The Postgres metrics store against a real Postgres. Each test works in its own schema
 * (`ics_test_<random>`), dropped afterwards.
 */
import assert from "node:assert/strict";
import postgresJs from "postgres";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { postgres, schema } from "../../src/sinks/postgres_metrics.ts";
import type { MetricsStore } from "../../src/core/component.ts";
import type { Envelope, Event } from "../../src/core/types.ts";
import { RetriableError } from "../../src/core/errors.ts";
import { withRetry } from "../../src/runtime/_retry.ts";

const TABLES = [
  "acc_event_metrics",
  "bdv_event_metrics",
  "dde_event_metrics",
  "e2e_latency_metrics",
  "event_throughput_metrics",
];

async function withSchema(
  fn: (s: {
    name: string;
    admin: ReturnType<typeof postgresJs>;
    open: (url?: string) => Promise<MetricsStore>;
    logs: string[];
  }) => Promise<void>,
) {
  const name = `ics_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  const admin = postgresJs(SERVICES.postgres, { onnotice: () => {}, max: 1 });
  const logs: string[] = [];
  const stores: MetricsStore[] = [];
  const open = async (url = SERVICES.postgres) => {
    const store = await postgres.create(
      schema.parse({ type: "postgres", url, schema: name, connect_timeout_ms: 2000 }),
      { stateDir: ".", specDir: ".", log: (level, message) => logs.push(`${level}: ${message}`) },
    );
    stores.push(store);
    return store;
  };
  try {
    await fn({ name, admin, open, logs });
  } finally {
    for (const s of stores) await s.close();
    await admin.unsafe(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
    await admin.end();
  }
}

function envelope(stream: string, i: number, timestamp: number, fields: Record<string, unknown>) {
  const event = {
    event_id: `${stream}-${i}`,
    event_type: "TEST_EVENT",
    iteration_id: "it-1",
    timestamp,
    producer: "test",
    metadata: {},
    ...fields,
  } as Event;
  return {
    record: {
      value: new Uint8Array(),
      format: "json",
      position: { kind: "file", path: "x", line: i },
    },
    stream,
    event,
    key: `${stream}-key-${i}`,
    digest: `${stream}-key-${i}`,
  } satisfies Envelope;
}

/** 3 dde, 2 bdv, 2 acc events and one of another stream, `ago` ms before `at`. */
function sampleBatch(at: number, ago = (i: number) => 100 * (i + 1)) {
  return [
    envelope("dde", 0, at - ago(0), {
      event_type: "TASK_COMPLETED",
      workflow_id: "wf-1",
      node_id: "build",
      status: "SUCCEEDED",
      attempt: 2,
      duration_ms: 1234,
    }),
    envelope("dde", 1, at - ago(1), { event_type: "WORKFLOW_STARTED", workflow_id: "wf-1" }),
    envelope("dde", 2, at - ago(2), { workflow_id: "wf-1", status: "FAILED", duration_ms: 12.6 }),
    envelope("bdv", 3, at - ago(3), {
      event_type: "FLAKE_DETECTED",
      test_run_id: "tr-1",
      feature_file: "features/user.feature",
      scenario_id: "sc-1",
      status: "FAILED",
      duration_ms: 50,
      flake_rate: 0.25,
    }),
    envelope("bdv", 4, at - ago(4), { test_run_id: "tr-1" }),
    envelope("acc", 5, at - ago(5), {
      event_type: "COUPLING_ALERT",
      analysis_id: "an-1",
      module_name: "api.user_service",
      severity: "ERROR",
      fan_in: 3,
      fan_out: 7,
      instability: 0.7,
    }),
    envelope("acc", 6, at - ago(6), { analysis_id: "an-1" }),
    envelope("other", 7, at - ago(7), {}),
  ];
}

/** Rows of `text` run in the test schema, as plain objects. */
async function query(admin: ReturnType<typeof postgresJs>, name: string, text: string) {
  const [, rows] = await admin.unsafe(`SET search_path TO "${name}"; ${text}`);
  return (rows as unknown as Record<string, unknown>[]).map((r) => ({ ...r }));
}

async function counts(admin: ReturnType<typeof postgresJs>, name: string) {
  const out: Record<string, number> = {};
  for (const t of TABLES) {
    const [{ n }] = await admin.unsafe(`SELECT count(*)::int AS n FROM "${name}"."${t}"`);
    out[t] = n;
  }
  return out;
}

serviceTest(
  "postgres metrics store creates its tables, views and functions, and logs the TimescaleDB decision",
  ["postgres"],
  async () => {
    await withSchema(async ({ name, admin, open, logs }) => {
      // Concurrent first starts on an empty schema: the advisory lock serialises them.
      await Promise.all([open(), open(), open()]);
      const tables = await admin`
        SELECT table_name AS t FROM information_schema.tables
        WHERE table_schema = ${name} AND table_type = 'BASE TABLE' ORDER BY 1`;
      assert.deepEqual(tables.map((r) => r.t), TABLES);
      const views = await admin`
        SELECT table_name AS t FROM information_schema.views WHERE table_schema = ${name} ORDER BY 1`;
      assert.deepEqual(views.map((r) => r.t), TABLES.map((t) => `${t}_5m`));
      const functions = await admin`
        SELECT routine_name AS f FROM information_schema.routines
        WHERE routine_schema = ${name} AND routine_name LIKE 'ics\\_%' ORDER BY 1`;
      for (const f of ["ics_apply_retention", "ics_p95_latency", "ics_throughput"]) {
        assert.ok(functions.some((r) => r.f === f), `missing ${f}`);
      }
      const [{ available }] = await admin`
        SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available`;
      assert.match(
        logs.join("\n"),
        available
          ? /^info: metrics: TimescaleDB found in "postgres:\/\/.*": hypertables/m
          : /^info: metrics: TimescaleDB not available in "postgres:\/\/.*": plain tables and views in schema "ics_test_\w+", rows older than 30 days deleted hourly$/m,
      );
      // A later start applies the schema again, harmlessly.
      await open();
      assert.deepEqual(Object.values(await counts(admin, name)), [0, 0, 0, 0, 0]);
    });
  },
);

serviceTest(
  "postgres metrics store writes a batch once, however often it is written",
  ["postgres"],
  async () => {
    await withSchema(async ({ name, admin, open }) => {
      const store = await open();
      const at = Date.now();
      const events = sampleBatch(at);
      const batch = { at, received: 10, elapsed_ms: 40 };
      await store.write(events, batch);
      await store.write(events, { ...batch, elapsed_ms: 55 }); // a retried write
      assert.deepEqual(await counts(admin, name), {
        acc_event_metrics: 2,
        bdv_event_metrics: 2,
        dde_event_metrics: 3,
        e2e_latency_metrics: 8,
        event_throughput_metrics: 1,
      });
      // A replay later (another batch): no new event rows, one more throughput row.
      await store.write(events, { at: at + 5000, received: 8, elapsed_ms: 10 });
      const after = await counts(admin, name);
      assert.equal(after.e2e_latency_metrics, 8);
      assert.equal(after.dde_event_metrics, 3);
      assert.equal(after.event_throughput_metrics, 2);
      await store.write([], { at: at + 6000, received: 5, elapsed_ms: 1 }); // all duplicates
      assert.equal((await counts(admin, name)).event_throughput_metrics, 3);
    });
  },
);

serviceTest(
  "postgres metrics store fills the per-stream columns, e2e latency and throughput",
  ["postgres"],
  async () => {
    await withSchema(async ({ name, admin, open }) => {
      const store = await open();
      const at = Math.floor(Date.now() / 1000) * 1000 + 123; // milliseconds survive the trip
      await store.write(sampleBatch(at), { at, received: 10, elapsed_ms: 40 });
      const q = (text: string) => query(admin, name, text);
      const epoch = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;

      const dde = await q(`SELECT event_key, iteration_id, event_type, ${epoch("event_time")} AS
        event_ms, ${epoch("processed_at")} AS processed_ms, latency_ms, workflow_id, node_id,
        status, attempt, duration_ms FROM dde_event_metrics ORDER BY event_key`);
      assert.deepEqual(dde, [
        {
          event_key: "dde-key-0",
          iteration_id: "it-1",
          event_type: "TASK_COMPLETED",
          event_ms: String(at - 100),
          processed_ms: String(at),
          latency_ms: "100",
          workflow_id: "wf-1",
          node_id: "build",
          status: "SUCCEEDED",
          attempt: 2,
          duration_ms: "1234",
        },
        {
          event_key: "dde-key-1",
          iteration_id: "it-1",
          event_type: "WORKFLOW_STARTED",
          event_ms: String(at - 200),
          processed_ms: String(at),
          latency_ms: "200",
          workflow_id: "wf-1",
          node_id: null,
          status: null,
          attempt: null,
          duration_ms: null,
        },
        {
          event_key: "dde-key-2",
          iteration_id: "it-1",
          event_type: "TEST_EVENT",
          event_ms: String(at - 300),
          processed_ms: String(at),
          latency_ms: "300",
          workflow_id: "wf-1",
          node_id: null,
          status: "FAILED",
          attempt: null,
          duration_ms: "13", // a fractional duration is rounded
        },
      ]);
      const bdv = await q(`SELECT test_run_id, feature_file, scenario_id, status, duration_ms,
        flake_rate, latency_ms FROM bdv_event_metrics ORDER BY event_key`);
      assert.deepEqual(bdv, [
        {
          test_run_id: "tr-1",
          feature_file: "features/user.feature",
          scenario_id: "sc-1",
          status: "FAILED",
          duration_ms: "50",
          flake_rate: 0.25,
          latency_ms: "400",
        },
        {
          test_run_id: "tr-1",
          feature_file: null,
          scenario_id: null,
          status: null,
          duration_ms: null,
          flake_rate: null,
          latency_ms: "500",
        },
      ]);
      const acc = await q(`SELECT analysis_id, module_name, severity, fan_in, fan_out,
        instability FROM acc_event_metrics ORDER BY event_key`);
      assert.deepEqual(acc, [
        {
          analysis_id: "an-1",
          module_name: "api.user_service",
          severity: "ERROR",
          fan_in: 3,
          fan_out: 7,
          instability: 0.7,
        },
        {
          analysis_id: "an-1",
          module_name: null,
          severity: null,
          fan_in: null,
          fan_out: null,
          instability: null,
        },
      ]);
      const e2e = await q(`SELECT stream, count(*)::int AS n, sum(latency_ms)::int AS total
        FROM e2e_latency_metrics GROUP BY stream ORDER BY stream`);
      assert.deepEqual(e2e, [
        { stream: "acc", n: 2, total: 600 + 700 },
        { stream: "bdv", n: 2, total: 400 + 500 },
        { stream: "dde", n: 3, total: 100 + 200 + 300 },
        { stream: "other", n: 1, total: 800 },
      ]);
      const throughput = await q(`SELECT ${epoch("at")} AS at_ms, received, processed,
        elapsed_ms, events_per_second FROM event_throughput_metrics`);
      assert.deepEqual(throughput, [
        { at_ms: String(at), received: 10, processed: 8, elapsed_ms: 40, events_per_second: 200 },
      ]);
    });
  },
);

serviceTest(
  "postgres metrics helper functions, 5-minute views and retention return sane numbers",
  ["postgres"],
  async () => {
    await withSchema(async ({ name, admin, open }) => {
      const store = await open();
      const at = Date.now();
      // 20 dde events with latencies 10, 20, ... 200 ms; 2 batches of 10.
      const events = Array.from(
        { length: 20 },
        (_, i) => envelope("dde", i, at - 10 * (i + 1), { workflow_id: "wf" }),
      );
      await store.write(events.slice(0, 10), { at, received: 10, elapsed_ms: 20 });
      await store.write(events.slice(10), { at, received: 12, elapsed_ms: 20 });
      // An old batch, outside every window and past retention.
      const old = at - 40 * 86_400_000;
      await store.write([envelope("bdv", 99, old - 5, { test_run_id: "old" })], {
        at: old,
        received: 1,
        elapsed_ms: 1,
      });
      const q = (text: string) => query(admin, name, text);

      // percentile_cont(0.95) over 10..200: rank 0.95 * 19 = 18.05 → 190 + 0.05 * 10.
      const [p] = await q(`SELECT ics_p95_latency('dde', '1 hour') AS dde,
        ics_p95_latency(NULL, '1 hour') AS every, ics_p95_latency('bdv', '1 hour') AS bdv,
        ics_throughput('1 minute') AS per_second, ics_throughput('1 second') IS NOT NULL AS ok`);
      assert.ok(Math.abs(Number(p.dde) - 190.5) < 1e-9, `p95 ${p.dde}`);
      assert.ok(Math.abs(Number(p.every) - 190.5) < 1e-9);
      assert.equal(p.bdv, null); // none processed in the window
      assert.ok(Math.abs(Number(p.per_second) - 20 / 60) < 1e-9, `throughput ${p.per_second}`);

      const buckets = await q(`SELECT sum(events)::int AS events, max(p95_latency_ms) AS p95
        FROM e2e_latency_metrics_5m WHERE stream = 'dde'`);
      assert.equal(buckets[0].events, 20);
      assert.ok(Number(buckets[0].p95) > 100 && Number(buckets[0].p95) <= 200);
      const batches = await q(`SELECT sum(batches)::int AS batches, sum(processed)::int AS n
        FROM event_throughput_metrics_5m WHERE bucket > now() - interval '1 hour'`);
      assert.deepEqual(batches[0], { batches: 2, n: 20 });
      const perType = await q(`SELECT event_type, sum(events)::int AS events
        FROM dde_event_metrics_5m GROUP BY event_type`);
      assert.deepEqual(perType, [{ event_type: "TEST_EVENT", events: 20 }]);

      const [deleted] = await q(`SELECT ics_apply_retention(30) AS n`);
      assert.equal(deleted.n, "3"); // the old bdv row, its e2e row, its throughput row
      assert.deepEqual(await counts(admin, name), {
        acc_event_metrics: 0,
        bdv_event_metrics: 0,
        dde_event_metrics: 20,
        e2e_latency_metrics: 20,
        event_throughput_metrics: 2,
      });
    });
  },
);

serviceTest(
  "postgres metrics store fails with RetriableError when Postgres is unreachable",
  ["postgres"],
  async () => {
    await withSchema(async ({ open }) => {
      await assert.rejects(
        open("postgres://postgres@127.0.0.1:1/test"),
        (e: Error) =>
          e instanceof RetriableError &&
          e.message ===
            'Postgres at "postgres://postgres@127.0.0.1:1/test" is unavailable: ' +
              "connect ECONNREFUSED 127.0.0.1:1",
      );
    });
  },
);

serviceTest(
  "postgres metrics store fails with RetriableError when the connection drops, then recovers",
  ["postgres"],
  async () => {
    await withSchema(async ({ name, admin, open }) => {
      const proxy = tcpProxy(hostPort("postgres"));
      try {
        const { pathname } = new URL(SERVICES.postgres);
        const store = await open(`postgres://postgres@127.0.0.1:${proxy.port}${pathname}`);
        const at = Date.now();
        await store.write(sampleBatch(at).slice(0, 2), { at, received: 2, elapsed_ms: 1 });
        proxy.close(); // Postgres "goes away"
        await assert.rejects(store.check(), RetriableError);
        const rest = sampleBatch(at).slice(2);
        await assert.rejects(
          store.write(rest, { at, received: 6, elapsed_ms: 1 }),
          RetriableError,
        );
        setTimeout(() => proxy.restart(), 300);
        let retries = 0;
        await withRetry(() => store.write(rest, { at, received: 6, elapsed_ms: 1 }), {
          baseMs: 50,
          maxMs: 500,
          onRetry: () => retries++,
        });
        assert.ok(retries > 0);
        assert.equal((await counts(admin, name)).e2e_latency_metrics, 8);
        await store.close(); // while the proxy still forwards its goodbye
      } finally {
        proxy.close();
      }
    });
  },
);

/** A TCP proxy that can be cut (connections closed, nothing listening) and restarted. */
function tcpProxy(target: { host: string; port: number }) {
  let listener: Deno.Listener | undefined;
  const open = new Set<Deno.Conn>();
  let port = 0;
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable, { preventClose: true });
    } catch { /* cut */ }
    for (const c of [from, to]) {
      if (!open.delete(c)) continue;
      try {
        c.close();
      } catch { /* already closed */ }
    }
  };
  const start = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    const l = listener;
    (async () => {
      try {
        for await (const client of l) {
          const server = await Deno.connect({ hostname: target.host, port: target.port });
          open.add(client).add(server);
          pipe(client, server);
          pipe(server, client);
        }
      } catch { /* listener closed */ }
    })();
  };
  start();
  return {
    port,
    restart: start,
    close() {
      try {
        listener?.close();
      } catch { /* already closed */ }
      for (const c of open) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      open.clear();
    },
  };
}
