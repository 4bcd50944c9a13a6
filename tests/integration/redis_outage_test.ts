/**
 * Redis unreachable mid-run (a proxy refusing connections), with duplicates in the input that
 * arrive while it is down, under both `dedup.on_unavailable` policies:
 *
 * - `pause`: consumption stops (the check is retried), /readyz is 503 naming dedup, and once Redis
 *   is back every duplicate is dropped, even one whose payload differs (only Redis knows its key).
 * - `sink_idempotency`: the runner carries on (degraded, /readyz 200), exact replays go through
 *   and change nothing, and the keys committed meanwhile reach Redis once it is back.
 *
 * Either way the graph equals the embedded run's, version for version: no duplicate. The graph and
 * metrics are SQLite here: what is under test is the dedup policy, not the graph store.
 */
import { FORMAT_KEY } from "../../src/dedup/redis.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { Redis } from "ioredis";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import { expected as reference, graphOf, letters, pipeline, until, workspace } from "./_outage.ts";
import { run } from "../../src/runtime/mod.ts";
import { type Readiness, serveTelemetry } from "../../src/telemetry/http.ts";
import { checkedComponents } from "../../src/cli/_observe.ts";

const BATCH = 20;
const RUN = `ox${Date.now().toString(36)}`;

/**
 * Duplicates spread over batches 4 to 9, so that whichever batch is being checked when Redis goes
 * down (at the third batch's write; the producer runs up to queue_batches + 1 batches ahead) and
 * while it stays down meets some: exact copies of events of the first batch (their keys are in
 * Redis only), with `differing` copies of two more under the same dedup key with another payload
 * (taken as new, they would change the graph), and a copy of an event of the outage itself.
 */
function withDuplicates(differing: boolean) {
  return (lines: string[]) => {
    const other = (l: string) => l.replace(/}$/, ',"error_message":"replayed, other payload"}');
    const before = new Map<number, string[]>([
      [65, [lines[1]]],
      [85, [lines[2]]],
      [105, [lines[3]]],
      [125, [lines[4]]],
      [145, [lines[6]]],
      [165, [lines[7], lines[150]]],
    ]);
    if (differing) {
      before.set(95, [other(lines[10])]);
      before.set(135, [other(lines[18])]);
    }
    return lines.flatMap((l, i) => [...(before.get(i) ?? []), l]);
  };
}

async function redisKeys(prefix: string): Promise<string[]> {
  const admin = new Redis(SERVICES.redis);
  try {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    if (keys.length) await admin.del(...keys); // read once, then cleaned up
    return keys.filter((k) => k !== `${prefix}${FORMAT_KEY}`); // one per event, and the format
  } finally {
    await admin.quit();
  }
}

function metricRows(state: string): number {
  const db = new DatabaseSync(join(state, "metrics.db"), { readOnly: true });
  try {
    return Number((db.prepare("SELECT count(*) AS n FROM event_metrics").get() as { n: number }).n);
  } finally {
    db.close();
  }
}

async function setup(policy: "pause" | "sink_idempotency", differing: boolean) {
  const proxy = await startProxy(hostPort("redis"));
  const prefix = `ics:test:${RUN}:${policy}:`;
  const redisUrl = new URL(SERVICES.redis);
  redisUrl.host = proxy.address;
  const ws = await workspace(`${RUN}-${policy}`, (spec) => {
    spec.dedup.on_unavailable = policy;
    spec.runtime.retry = { initial_ms: 50, max_ms: 500 };
    spec.targets.outage = {
      ...spec.targets.local,
      dedup: {
        type: "redis",
        url: redisUrl.toString(),
        key_prefix: prefix,
        connect_timeout_ms: 500,
        command_timeout_ms: 1000,
      },
    };
  }, { batch: BATCH, transform: withDuplicates(differing) });
  return { proxy, prefix, ws };
}

/** Serve the pipeline's endpoint; `get(path)` answers status and JSON body. */
async function endpoint(p: Awaited<ReturnType<typeof pipeline>>) {
  const e = await serveTelemetry({
    port: 0,
    hostname: "127.0.0.1",
    telemetry: p.telemetry,
    components: checkedComponents(p),
  });
  return {
    async get(path: string) {
      const r = await fetch(`http://127.0.0.1:${e.port}${path}`);
      return { status: r.status, body: path === "/metrics" ? await r.text() : await r.json() };
    },
    close: () => e.close(),
  };
}

const dedupUp = (metrics: string) =>
  /^ics_component_up\{component="dedup"\} (\d)$/m.exec(metrics)?.[1];

serviceTest(
  "Redis down mid-run, on_unavailable: pause: consumption stops until it is back, no duplicate",
  ["redis"],
  async () => {
    const { proxy, prefix, ws } = await setup("pause", true);
    await using _ws = ws;
    await using _proxy = proxy;
    const want = await reference(ws);
    const p = await pipeline(ws, "outage", "state");
    const t = p.telemetry;
    const http = await endpoint(p);
    try {
      let writes = 0;
      const write = p.graph.write.bind(p.graph);
      p.graph.write = async (changes) => {
        if (++writes === 3) await proxy.down("refuse");
        return write(changes);
      };
      const running = run(p);

      // Redis is down: the check of the next batch and the commit of this one are retried.
      await until(() => t.health.get("dedup").status === "retrying", "dedup to be retried");
      const ready = await http.get("/readyz");
      assert.equal(ready.status, 503);
      assert.equal(ready.body.status, "unavailable");
      assert.deepEqual(ready.body.degraded, ["dedup"]);
      assert.match(ready.body.components.dedup.detail, /^Redis at .* \(attempt \d+\)$/);
      assert.equal(dedupUp((await http.get("/metrics")).body), "0");
      // Paused: nothing written, no more read than the queue holds, retries piling up.
      await until(() => t.get("retries_total", { component: "dedup" }) >= 4, "four retries");
      const held = (1 + p.spec.spec.runtime.queue_batches + 1) * BATCH;
      assert.equal(t.get("batches_total"), 2);
      assert.ok(t.get("events_received_total") <= 2 * BATCH + held);
      await proxy.up();
      await running;

      assert.equal((await http.get("/readyz")).status, 200);
      assert.equal(dedupUp((await http.get("/metrics")).body), "1");
      assert.deepEqual(await graphOf(p.graph, ws.iterations), want.graph);
      // Every duplicate dropped, the one with another payload too: Redis was asked.
      assert.equal(t.get("dedup_dropped_total"), want.dropped);
      assert.equal(t.get("events_processed_total"), want.processed);
      assert.equal(t.get("dedup_unchecked_total"), 0);
      assert.equal(metricRows(join(ws.dir, "state")), metricRows(join(ws.dir, "expected")));
      assert.deepEqual(await letters(join(ws.dir, "state")), want.letters);
      assert.match(ws.logs.join("\n"), /warn: dedup failed \(attempt 1\), retrying: Redis at/);
      assert.match(ws.logs.join("\n"), /info: dedup is available again/);
    } finally {
      await http.close();
      await p.close();
      await redisKeys(prefix);
    }
  },
);

serviceTest(
  "Redis down mid-run, on_unavailable: sink_idempotency: carries on degraded, no duplicate",
  ["redis"],
  async () => {
    const { proxy, prefix, ws } = await setup("sink_idempotency", false);
    await using _ws = ws;
    await using _proxy = proxy;
    const want = await reference(ws);
    const p = await pipeline(ws, "outage", "state");
    const t = p.telemetry;
    const http = await endpoint(p);
    let closing: Promise<void> | undefined;
    const closed = () => closing ??= p.close();
    try {
      // Down from the third batch's write to the twelfth's: nine batches go by without Redis.
      let writes = 0;
      let during: { ready: { status: number; body: Readiness }; metrics: string } | undefined;
      const write = p.graph.write.bind(p.graph);
      p.graph.write = async (changes) => {
        writes++;
        if (writes === 3) await proxy.down("refuse");
        if (writes === 12) {
          during = { ready: await http.get("/readyz"), metrics: (await http.get("/metrics")).body };
          await proxy.up();
          // On once the client has reconnected (ioredis retries in the background).
          while (!(await p.dedup.check().then(() => true, () => false))) {
            await new Promise((r) => setTimeout(r, 50));
          }
        }
        return write(changes);
      };
      const { telemetry } = await run(p);
      assert.ok(during, "the run reached its twelfth batch");
      const ready = during.ready.body;
      // Degraded yet ready: dedup is not required under sink_idempotency.
      assert.equal(during.ready.status, 200);
      assert.equal(ready.status, "degraded");
      assert.deepEqual(ready.degraded, ["dedup"]);
      assert.equal(ready.components.dedup.status, "degraded");
      assert.match(ready.components.dedup.detail!, /^unavailable, keys taken as unseen/);
      assert.equal(dedupUp(during.metrics), "0");
      assert.equal(telemetry.get("retries_total", { component: "dedup" }), 0, "it never paused");
      assert.ok(telemetry.get("dedup_unchecked_total") > 0);
      assert.equal(t.health.get("dedup").status, "ok");
      assert.equal(dedupUp((await http.get("/metrics")).body), "1");

      // The exact replays went through and changed nothing: the graph of the embedded run.
      assert.deepEqual(await graphOf(p.graph, ws.iterations), want.graph);
      assert.equal(metricRows(join(ws.dir, "state")), metricRows(join(ws.dir, "expected")));
      assert.deepEqual(await letters(join(ws.dir, "state")), want.letters);
      // Replays of events committed before the outage were taken as new (only Redis knew them);
      // every other duplicate was still dropped.
      const replayed = telemetry.get("events_processed_total") - want.processed;
      assert.ok(replayed >= 3 && replayed <= 6, `${replayed} replays went through`);
      assert.equal(telemetry.get("dedup_dropped_total"), want.dropped - replayed);
      const logs = ws.logs.join("\n");
      assert.match(logs, /warn: dedup store unavailable, carrying on without it/);
      const back = /info: dedup store available again; (\d+) keys committed during the outage/
        .exec(logs);
      assert.ok(back && Number(back[1]) > 0, logs);
      await closed();
      // Every key reached Redis: those of the outage too.
      assert.equal((await redisKeys(prefix)).length, want.processed);
    } finally {
      await http.close();
      await closed();
      await redisKeys(prefix);
    }
  },
);
