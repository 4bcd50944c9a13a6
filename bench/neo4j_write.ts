/**
 * `deno task bench:neo4j [EVENTS]` (default 60,000; not in CI): the Neo4j graph write alone,
 * against the running Neo4j (`deno task services:up`), in one run of a few minutes:
 *
 * 1. the graph changes the embedded model makes of the services corpus (seed 2601, cached in
 *    `.cache/bench/`), in batches of `BENCH_BATCH` (5,000) records, made before any clock starts;
 * 2. those changes written through ics's own store (`write()`), `BENCH_ROUNDS` (2) times, each
 *    time into an empty graph of those iterations: events/s, versions/s, p50/p95 per transaction,
 *    and per kind of statement (closes, observations, nodes, relationships) its rows and the time
 *    from the previous answer to its own (a transaction's statements are sent together and
 *    answered in order, so the first one also carries the packing and the wait for the server);
 * 3. the peer-shaped sink on the same events (`peerSink()`: the Neo4j Kafka connector's Cypher
 *    strategy) in between, so the ratio is measured on the same machine in the same minutes.
 *
 * It removes what it wrote (the corpus iterations and the peer's scratch labels).
 * @module
 */
import neo4j from "neo4j-driver";
import { loadSpec } from "../src/compiler/mod.ts";
import { openNeo4jGraph, schema } from "../src/sinks/neo4j_graph/mod.ts";
import { corpusOf, deleteIterations, percentile, ROOT, SERVICES } from "./_services_setup.ts";
import { changesOf, dropPeer, peerSink } from "./_services_unwind.ts";

const EVENTS = Number(Deno.args[0] ?? 60_000);
const BATCH = Number(Deno.env.get("BENCH_BATCH") ?? 5000);
const ROUNDS = Number(Deno.env.get("BENCH_ROUNDS") ?? 2);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const log = (m: string) => console.error(m);

const { spec, errors } = await loadSpec(`${ROOT}pipeline.yaml`);
if (!spec) throw new Error(`pipeline.yaml does not load: ${JSON.stringify(errors)}`);
const data = await corpusOf(2601, EVENTS);
const model = await changesOf(spec, data.lines, BATCH);
const count = (k: "opened" | "closed") => model.batches.reduce((a, b) => a + b[k].length, 0);
const observed = model.batches.reduce((a, b) => a + (b.observed?.length ?? 0), 0);
log(
  `load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}; ${
    fmt(EVENTS)
  } events → ${model.batches.length} batches: ${fmt(count("opened"))} versions opened, ${
    fmt(count("closed"))
  } closed, ${fmt(observed)} observations updates (model ${fmt(model.ms / 1000, 1)} s)`,
);

const driver = neo4j.driver(SERVICES.neo4j, undefined, { disableLosslessIntegers: true });
const run = Date.now().toString(36);
try {
  await deleteIterations(driver, data.iterations);
  for (let round = 1; round <= ROUNDS; round++) {
    const statements = new Map<string, { rows: number; ms: number }>();
    const perTx: number[] = [];
    const store = await openNeo4jGraph(schema.parse({ type: "neo4j", uri: SERVICES.neo4j }), {
      onStatement: (name, rows, ms) => {
        const s = statements.get(name) ?? { rows: 0, ms: 0 };
        s.rows += rows, s.ms += ms;
        statements.set(name, s);
      },
    });
    let ms = 0;
    try {
      for (const b of model.batches) {
        const t = performance.now();
        await store.write(b);
        perTx.push(performance.now() - t);
        ms += perTx.at(-1)!;
      }
    } finally {
      await store.close();
    }
    console.log(
      `ics store, round ${round}: ${fmt(EVENTS / (ms / 1000))} events/s, ${
        fmt(count("opened") / (ms / 1000))
      } versions/s; per transaction p50 ${fmt(percentile(perTx, 50))} ms, p95 ${
        fmt(percentile(perTx, 95))
      } ms`,
    );
    for (const [name, s] of statements) {
      console.log(
        `  ${name.padEnd(20)} ${fmt(s.rows).padStart(9)} rows ${
          fmt(s.ms / 1000, 2).padStart(7)
        } s ${fmt(s.rows / (s.ms / 1000)).padStart(8)} rows/s`,
      );
    }
    await deleteIterations(driver, data.iterations);
    if (round === 1) {
      const peer = await peerSink(driver, run, spec, data.lines);
      console.log(
        `peer-shaped sink: ${fmt(peer.lines / (peer.ms / 1000))} events/s (${
          fmt(peer.rows / (peer.ms / 1000))
        } rows/s)`,
      );
      await dropPeer(driver, run, spec);
    }
  }
} finally {
  await deleteIterations(driver, data.iterations).catch(() => {});
  await dropPeer(driver, run, spec).catch(() => {});
  await driver.close();
  log(`load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
}
