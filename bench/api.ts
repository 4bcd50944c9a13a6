/**
 * `deno task bench:api`: the GraphQL API under concurrent clients on a large graph.
 *
 *   deno task bench:api                       # 1,000,000 events, embedded (SQLite)
 *   deno task bench:api 200000 --neo4j        # the same graph copied into Neo4j (NEO4J_URI)
 *   deno task bench:api --state DIR           # keep (or reuse) the built graph in DIR
 *   deno task bench:api 200000 --neo4j --keep # leave the copy in Neo4j; --reuse: use it again
 *   deno task bench:api --clients 16 --seconds 60 --cache DIR
 *   deno task bench:api 200000 --ingest 2000  # while a runner ingests 2,000 events/s (Kafka)
 *   deno task bench:api 200000 --ingest 2000 --serve  # ... asking an ics serve beside it
 *
 * Builds the graph once (the embedded pipeline over a generated corpus; with --neo4j its whole
 * bi-temporal history is then written to Neo4j, under iteration ids of its own, and deleted
 * afterwards), starts `ics serve` on it, picks iterations, entities and pairs through the API, and
 * runs the mix of `_api_load.ts` (iteration views, entity lookups with links, explain, as-of
 * queries, links by rule and confidence). Prints p50/p95/p99 per kind and requests/s; the
 * objective is p95 < 100 ms per kind. With `--ingest RATE` the API is instead the one of an `ics run`
 * that meanwhile ingests new events at RATE into the same store (`_api_ingest.ts`; objective p95 <
 * 500 ms; `--serve`: the clients ask a separate `ics serve` on the same store); the achieved ingest rate is printed under the table, and for either the CPU each
 * process used while the clients ran. Not a test.
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { corpusFile } from "./_corpus_file.ts";
import { load, table } from "./_api_load.ts";
import { mix, samples } from "./_api_mix.ts";
import { copyToNeo4j, deleteFromNeo4j } from "./_api_neo4j.ts";
import { type Ingest, startIngest } from "./_api_ingest.ts";
import { monitorCpu } from "./_services_cpu.ts";

const root = new URL("..", import.meta.url).pathname;
const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    state: { type: "string" },
    cache: { type: "string", default: `${root}.cache/bench` },
    clients: { type: "string", default: "8" },
    seconds: { type: "string", default: "30" },
    neo4j: { type: "boolean", default: false },
    // --neo4j: keep the copy afterwards (--keep), or use the copy a kept run left (--reuse).
    keep: { type: "boolean", default: false },
    reuse: { type: "boolean", default: false },
    // Events/s a runner ingests into the store while the clients run (0: nothing runs).
    ingest: { type: "string", default: "0" },
    // With --ingest: the clients ask an `ics serve` beside the runner rather than the runner.
    serve: { type: "boolean", default: false },
  },
});
const size = Number(positionals[0] ?? 1_000_000);
const clients = Number(values.clients), seconds = Number(values.seconds);
const rate = Number(values.ingest);
if (!(Number.isInteger(rate) && rate >= 0)) throw new Error(`--ingest "${values.ingest}"?`);
if (values.serve && !rate) throw new Error("--serve goes with --ingest RATE");
const warmUp = rate ? 10 : 5; // ingesting: the runner's consumer joins its group meanwhile
// With Neo4j, iteration ids of their own (seed 4242: it-4242-0001...), deleted afterwards.
const seed = values.neo4j ? 4242 : 1;
const cache = resolve(values.cache!);
const state = resolve(values.state ?? `${cache}/api-${values.neo4j ? "s4242-" : ""}${size}`);
const perms = ["--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys"];
const main = `${root}src/cli/main.ts`;

const corpus = await corpusFile(cache, size, seed);
if (!(await Deno.stat(`${state}/graph.db`).then(() => true, () => false))) {
  console.error(`building the graph of ${corpus} in ${state} ...`);
  const t = performance.now();
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...perms, main, "run", "--input", corpus, "--state", state, "--quiet"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!run.success) Deno.exit(1);
  console.error(`built in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}
if (values.neo4j && !values.reuse) {
  const t = performance.now();
  const n = await copyToNeo4j(`${state}/graph.db`, "it-4242-");
  console.error(
    `copied ${n} versions to Neo4j in ${((performance.now() - t) / 1000).toFixed(0)} s`,
  );
}

let server: Deno.ChildProcess | undefined, ingest: Ingest | undefined;
try {
  let url = "";
  if (rate) {
    ingest = await startIngest({
      state: values.neo4j ? undefined : state,
      rate,
      // Enough for the run and its start, whatever the runner's start takes.
      events: rate * (warmUp + seconds + 60),
      log: console.error,
    });
    url = ingest.url;
  }
  if (!rate || values.serve) {
    server = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...perms,
        main,
        "serve",
        ...(ingest ? ingest.serve : ["--state", state]),
        "--port",
        "0",
        ...(values.neo4j && !ingest ? ["--target", "services"] : []),
      ],
      cwd: root,
      env: { ICS_API_TOKEN: "" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    url = await serving(server.stderr);
  }
  console.error(`serving ${url}`);
  const pools = await samples(url, values.neo4j ? "it-4242-" : "");
  console.error(
    `${pools.iterations.length} iterations sampled, ${pools.tasks.length} tasks, ` +
      `${pools.pairs.length} pairs; ${clients} clients, warm-up ${warmUp} s, then ${seconds} s` +
      (rate ? `, ingesting ${rate} events/s from the warm-up on` : ""),
  );
  ingest?.start();
  const next = mix(pools);
  await load(url, next, clients, warmUp);
  const before = await ingest?.counts();
  const cpu = await monitorCpu({
    [Deno.pid]: "bench (clients)",
    ...(ingest ? { [ingest.pid]: server ? "ics run (ingest)" : "ics run (API + ingest)" } : {}),
    ...(server ? { [server.pid]: "ics serve" } : {}),
  });
  const report = await load(url, next, clients, seconds);
  const used = await cpu.stop();
  const after = await ingest?.counts();
  console.log(
    `\n${size.toLocaleString("en")} events, ${values.neo4j ? "Neo4j" : "embedded (SQLite)"}, ` +
      `${clients} clients, ${report.seconds.toFixed(0)} s` +
      (rate ? `, while ingesting at ${rate} events/s` : "") +
      (rate ? (server ? " (API: ics serve beside the runner)" : " (API: the runner's)") : "") +
      "\n",
  );
  console.log(table(report, rate ? 500 : 100));
  if (before && after) {
    const per = (n: number) => (n / used.wall_s).toFixed(0);
    console.log(
      `ingest: ${per(after.produced - before.produced)} events/s produced, ` +
        `${per(after.processed - before.processed)} events/s processed by the runner ` +
        `(${after.produced - after.processed} produced but not yet processed at the end)`,
    );
  }
  console.log(
    `CPU, cores busy over ${used.wall_s.toFixed(0)} s: ` +
      Object.entries(used.cpu_s).filter(([, s]) => s > 0.05).sort(([, a], [, b]) => b - a)
        .map(([name, s]) => `${name} ${(s / used.wall_s).toFixed(2)}`).join(", ") +
      `; load average ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
  );
} finally {
  if (server) {
    server.kill("SIGTERM");
    await server.status;
  }
  await ingest?.close();
  if (values.neo4j && !values.keep) await deleteFromNeo4j("it-4242-");
}

/** The URL the server logs it serves, its other log lines drained. */
async function serving(stderr: ReadableStream<Uint8Array<ArrayBuffer>>): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`ics serve stopped: ${text}`);
    text += value;
    const m = /serving (http:\/\/[\d.]+:\d+\/graphql)/.exec(text);
    if (m) {
      (async () => {
        while (!(await reader.read()).done) { /* drained */ }
      })();
      return m[1];
    }
  }
}
