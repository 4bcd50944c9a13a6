/**
 * `bench:api --ingest RATE`: the API answered by a runner that ingests meanwhile. One `ics run`
 * (README: it serves /graphql on its observability port) consumes its own Kafka topics, into
 * the graph the clients read, while events of a corpus of their own (seed 4243: iterations
 * `it-4243-NNNN`, none of them a picked query target) are produced to those topics at RATE
 * events/s. Embedded, the run's target is the local one with a Kafka source, on a copy of the
 * built state folder (a second runner on that folder would be refused, and the copy keeps the
 * cached graph as built); on Neo4j it is the services target. Topics, consumer group, registry
 * subjects, Redis prefix, Postgres schema and dead-letter topic are the run's own
 * (`privateSpec()` of bench:services), and all of them, the ingested iterations and the copies
 * are removed by `close()`. `serve` says how an `ics serve` beside the runner reads the same store
 * (a reader takes no lock; SQLite's WAL lets it read while the runner writes). Killed, `deno run -A
 * bench/_services_cleanup.ts RUN_ID` (the run it logged) removes its services' names; the next
 * `--ingest --neo4j` run, its iterations.
 * @module
 */
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import neo4j from "neo4j-driver";
import { loadSpec } from "../src/compiler/mod.ts";
import { createRegistry } from "../src/schema_registry/mod.ts";
import { produce } from "../src/cli/produce.ts";
import { ensureTopics } from "../src/cli/topics.ts";
import {
  corpusOf,
  deleteGroups,
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  dropPgSchema,
  privateSpec,
  ROOT,
  SERVICES,
} from "./_services_setup.ts";
import { lines, producing } from "./_services_live.ts";

const SEED = 4243;
const SIGNALS = ["SIGINT", "SIGTERM"] as const;
/** The embedded target of the private spec: the local one, fed by the run's topics. */
const EMBEDDED = `targets:
  bench_api:
    source:
      type: kafka
      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"
      group_id: "\${ICS_GROUP_ID:-ics}"
      schema_registry: "\${SCHEMA_REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}"
    dedup: { type: memory, max_entries: 1000000 }
    graph: { type: sqlite, path: graph.db }
    metrics: { type: sqlite, path: metrics.db }
    dlq: { type: file, path: dlq.jsonl }
`;

export interface Ingest {
  /** The runner's /graphql. */
  url: string;
  pid: number;
  /** What `ics serve` beside the runner takes: its spec, target and state folder. */
  serve: string[];
  /** Start producing at the rate (after the query targets were picked). */
  start(): void;
  /** Events handed to the producer so far, and processed by the runner (its /metrics). */
  counts(): Promise<{ produced: number; processed: number }>;
  /** Stop producing and the runner; remove everything the run made. */
  close(): Promise<void>;
}

export async function startIngest(o: {
  /** The built state folder (embedded: copied), or undefined on Neo4j. */
  state?: string;
  rate: number;
  events: number;
  log: (m: string) => void;
}): Promise<Ingest> {
  const run = Date.now().toString(36);
  const setup = await privateSpec(run);
  o.log(`ingest run ${run} (killed: deno run -A bench/_services_cleanup.ts ${run})`);
  const cleanups: [string, () => Promise<unknown>][] = [
    ["files", () => Deno.remove(setup.dir, { recursive: true })],
  ];
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      for (const s of SIGNALS) Deno.removeSignalListener(s, interrupted);
      producing.abort();
      for (const [what, fn] of cleanups.reverse()) {
        await fn().catch((e) => console.error(`cleanup: ${what}: ${(e as Error).message}`));
      }
    })();
  // Interrupted, the run's topics, group and the rest are removed all the same.
  const interrupted = () => void close().finally(() => Deno.exit(130));
  for (const s of SIGNALS) Deno.addSignalListener(s, interrupted);
  try {
    if (o.state) {
      const text = await Deno.readTextFile(setup.specFile);
      if (!/^targets:\n/m.test(text)) throw new Error("pipeline.yaml changed: no targets: line");
      await Deno.writeTextFile(setup.specFile, text.replace(/^targets:\n/m, EMBEDDED));
    }
    const { spec, errors } = await loadSpec(setup.specFile);
    if (!spec) throw new Error(`private spec: ${JSON.stringify(errors)}`);
    const state = join(setup.dir, "state");
    if (o.state) {
      await Deno.mkdir(state);
      for await (const e of Deno.readDir(o.state)) {
        if (e.isFile && e.name !== "lock") {
          await Deno.copyFile(join(o.state, e.name), join(state, e.name));
        }
      }
    }
    const data = await corpusOf(SEED, o.events);
    const kafka = new Kafka({
      clientId: "ics-bench-api",
      brokers: SERVICES.kafka,
      logLevel: logLevel.ERROR,
    });
    const admin = kafka.admin();
    await admin.connect();
    const topics = Object.values(setup.topics);
    cleanups.push(["Kafka", async () => {
      await admin.deleteTopics({ topics: [...topics, setup.dlqTopic] }).catch(() => {});
      await deleteGroups(admin, [setup.group]);
      await deleteSubjects(topics);
      await admin.disconnect();
    }]);
    if (!o.state) {
      const driver = neo4j.driver(SERVICES.neo4j);
      const clean = () => deleteIterations(driver, data.iterations);
      await clean(); // an interrupted run's
      cleanups.push(["Neo4j", () => clean().finally(() => driver.close())]);
      cleanups.push(["Redis", () => deleteRedisKeys(setup.redisPrefix)]);
      cleanups.push(["Postgres", () => dropPgSchema(setup.pgSchema)]);
    }
    await ensureTopics(admin, [...topics, setup.dlqTopic], { partitions: 3 });
    const port = freePort();
    const target = o.state ? "bench_api" : "services";
    const runner = new Deno.Command(Deno.execPath(), {
      args: [
        ...["run", "--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys"],
        `${ROOT}src/cli/main.ts`,
        "run",
        ...["--spec", setup.specFile, "--target", target],
        ...["--state", state, "--metrics-port", String(port)],
      ],
      cwd: ROOT,
      env: { ICS_GROUP_ID: setup.group, ICS_API_TOKEN: "" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    cleanups.push(["runner", async () => {
      try {
        runner.kill("SIGTERM");
      } catch { /* ended */ }
      await runner.status;
    }]);
    const runnerLog = drain(runner.stderr);
    const url = `http://127.0.0.1:${port}/graphql`;
    await ready(`http://127.0.0.1:${port}/readyz`, runner, runnerLog);
    o.log(`ingesting runner ${runner.pid} ready`);
    const sentAt: number[] = [];
    let producer: Promise<unknown> | undefined;
    return {
      url,
      pid: runner.pid,
      serve: ["--spec", setup.specFile, "--target", target, "--state", state],
      start() {
        producer = produce({
          spec,
          kafka,
          registry: createRegistry(SERVICES.registry),
          streamTopics: setup.topics,
          lines: lines(data.lines, sentAt, o.rate),
          batch: Math.max(1, Math.round(o.rate / 50)),
          onInvalid: (line, reason) => console.error(`ingest line ${line}: ${reason}`),
        }).catch((e) => console.error(`ingest: producing failed: ${e}`));
        cleanups.push(["producer", () => producer!]);
      },
      async counts() {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const processed = [...text.matchAll(/^ics_events_processed_total(?:\{[^}]*\})? (\S+)$/gm)]
          .reduce((s, m) => s + Number(m[1]), 0);
        return { produced: sentAt.length, processed };
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The runner's log, kept for an error message. */
function drain(stderr: ReadableStream<Uint8Array<ArrayBuffer>>): { text: string } {
  const out = { text: "" };
  (async () => {
    for await (const s of stderr.pipeThrough(new TextDecoderStream())) {
      out.text = (out.text + s).slice(-4000);
    }
  })();
  return out;
}

async function ready(url: string, runner: Deno.ChildProcess, log: { text: string }) {
  let ended = false;
  runner.status.then(() => ended = true);
  for (const until = Date.now() + 120_000; Date.now() < until;) {
    if (ended) throw new Error(`the ingesting runner ended: ${log.text}`);
    const ok = await fetch(url).then((r) => (r.body?.cancel(), r.ok), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the ingesting runner is not ready after 120 s: ${log.text}`);
}
