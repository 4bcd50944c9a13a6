/**
 * Start-up with a service not yet up, as `docker compose up` starts everything at once: `ics run
 * --target services` whose Redis address is a port where a real `redis-server` appears only
 * seconds later. Meanwhile `/readyz` answers 503 naming dedup and what it waits for, and the
 * runner logs one warning per attempt; once Redis is up it proceeds and processes everything.
 * With `runtime.startup_timeout_seconds` and no Redis ever, it gives up: exit 3, one line.
 * (Before, a service down at start failed the run at once.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import {
  deleteIterations,
  deleteSubjects,
  dropPgSchema,
  privateSpec,
} from "../../bench/_services_setup.ts";
import { SERVICES, serviceTest } from "./_services.ts";
import { RUN, withAdmin } from "./_kafka.ts";

const root = new URL("../..", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function ics(env: Record<string, string>, args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000), // a hang fails the test
  });
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** /readyz once it answers, or undefined while nothing listens yet. */
async function readyz(port: number) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: r.status, body: await r.json() };
  } catch {
    return undefined;
  }
}

const redisServer = await new Deno.Command("redis-server", { args: ["--version"] }).output()
  .then((o) => o.success, () => false);

serviceTest(
  "a service that comes up after the runner: /readyz 503 naming it meanwhile, then everything processed",
  ["kafka", "schema_registry", "neo4j", "postgres"],
  async () => {
    assert.ok(redisServer, "redis-server is not installed");
    const setup = await privateSpec(`start${RUN}`);
    const topics = Object.values(setup.topics);
    const prefix = `st${RUN}`;
    const iterations = ["0001", "0002", "0003"].map((n) => `${prefix}-it-${n}`);
    const samples = join(setup.dir, "samples.jsonl");
    await Deno.writeTextFile(
      samples,
      (await Deno.readTextFile(join(root, "samples/events.jsonl"))).replaceAll(
        "it-000",
        `${prefix}-it-000`,
      ),
    );
    const redisPort = freePort();
    const env = { ICS_GROUP_ID: setup.group, REDIS_URL: `redis://127.0.0.1:${redisPort}` };
    const common = ["--spec", setup.specFile, "--target", "services"];
    let redis: Deno.ChildProcess | undefined;
    try {
      for (const args of [["topics", "--partitions", "1"], ["produce", "--raw", samples]]) {
        const out = await ics(env, [args[0], ...common, ...args.slice(1)]).output();
        assert.equal(out.code, 0, text(out.stderr));
      }

      const metricsPort = freePort();
      const started = Date.now();
      const runner = ics(env, [
        "run",
        ...common,
        "--drain",
        "--state",
        join(setup.dir, "state"),
        "--metrics-port",
        String(metricsPort),
      ]).spawn();
      const output = runner.output();

      // Not ready while Redis is missing: 503, naming dedup and its error.
      let waiting;
      for (let i = 0; i < 600 && !waiting; i++) {
        const r = await readyz(metricsPort);
        const dedup = r?.body.components.dedup;
        if (dedup?.status === "starting" && dedup.detail?.startsWith("Redis at")) {
          waiting = r;
        } else await new Promise((res) => setTimeout(res, 50));
      }
      assert.ok(waiting, "/readyz never reported dedup starting");
      assert.equal(waiting.status, 503);
      assert.equal(waiting.body.status, "unavailable");
      assert.ok(waiting.body.degraded.includes("dedup"));
      assert.equal(waiting.body.components.source.status, "ok"); // Kafka answered
      assert.match(
        waiting.body.components.dedup.detail,
        new RegExp(
          `^Redis at "redis://127\\.0\\.0\\.1:${redisPort}" is unreachable: .* \\(attempt \\d+\\)$`,
        ),
      );
      assert.deepEqual(waiting.body.components.graph, {
        type: "neo4j",
        status: "starting",
        detail: "not opened yet",
      });

      // A real Redis appears a few seconds later, on that port.
      await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - started))));
      redis = new Deno.Command("redis-server", {
        args: [
          "--port",
          String(redisPort),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();

      const out = await output;
      const stderr = text(out.stderr);
      assert.equal(out.code, 0, stderr);
      // Every record accounted for: processed, dropped as a duplicate or dead-lettered.
      const summary = text(out.stdout);
      const count = (label: string) => Number(new RegExp(`${label}\\s+(\\d+)`).exec(summary)?.[1]);
      assert.equal(count("events read"), 351, summary);
      assert.equal(count("processed") + count("duplicates") + count("dead letters"), 351, summary);
      // A JSON warning per attempt while it waited, naming the component.
      const waits = stderr.trim().split("\n").map((l) => JSON.parse(l)).filter((e) =>
        e.message.startsWith("dedup is not available yet")
      );
      assert.ok(waits.length >= 2, stderr);
      assert.ok(waits.every((w) => w.level === "warn" && w.component === "dedup"));
    } finally {
      if (redis) {
        redis.kill("SIGKILL");
        await redis.status;
      }
      await withAdmin(async (a) => {
        await a.deleteTopics({ topics: [...topics, setup.dlqTopic] }).catch(() => {});
        await a.deleteGroups([setup.group]).catch(() => {});
      });
      await deleteSubjects(topics);
      await dropPgSchema(setup.pgSchema);
      const driver = neo4j.driver(SERVICES.neo4j);
      await deleteIterations(driver, iterations).finally(() => driver.close());
      await Deno.remove(setup.dir, { recursive: true });
    }
  },
);

serviceTest(
  "a service that never comes up ends the start after runtime.startup_timeout_seconds, exit 3",
  ["kafka", "schema_registry"],
  async () => {
    const setup = await privateSpec(`stop${RUN}`);
    const topics = Object.values(setup.topics);
    try {
      const spec = await Deno.readTextFile(setup.specFile);
      const limited = spec.replace(/^( {2}startup_timeout_seconds:) \d+$/m, "$1 3");
      assert.notEqual(limited, spec);
      await Deno.writeTextFile(setup.specFile, limited);
      const env = { ICS_GROUP_ID: setup.group, REDIS_URL: `redis://127.0.0.1:${freePort()}` };
      const common = ["--spec", setup.specFile, "--target", "services"];
      const made = await ics(env, ["topics", ...common, "--partitions", "1"]).output();
      assert.equal(made.code, 0, text(made.stderr));

      const started = Date.now();
      // No endpoint: port 8000 may be another run's (tests run side by side).
      const out = await ics(env, [
        "run",
        ...common,
        "--state",
        join(setup.dir, "state"),
        "--metrics-port",
        "0",
      ]).output();
      const stderr = text(out.stderr);
      assert.equal(out.code, 3, stderr);
      assert.match(
        stderr.trimEnd().split("\n").at(-1)!,
        /^ics run: failed: dedup did not become available within 3 s \(runtime\.startup_timeout_seconds; 0 waits without limit\): Redis at "redis:\/\/127\.0\.0\.1:\d+" is unreachable: /,
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 3000 && elapsed < 60_000, `ended after ${elapsed} ms`);
    } finally {
      await withAdmin(async (a) => {
        await a.deleteTopics({ topics: [...topics, setup.dlqTopic] }).catch(() => {});
      });
      await Deno.remove(setup.dir, { recursive: true });
    }
  },
);
