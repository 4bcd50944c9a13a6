/**
 * `deno task bench:services [EVENTS]` (default 200,000; not in CI): the services target end to end
 * on this machine (Kafka → decode → Redis dedup → Neo4j graph, metrics to Postgres, dead letters
 * to Kafka), against the running services (`deno task services:up`), in one run of 6 to 10 minutes
 * (the budgets below bound the slow parts on a loaded machine):
 *
 * 1. a generated corpus (`bench/corpus.ts`, seed 2601: iterations `it-2601-NNNN`, cached in
 *    `.cache/bench/`) produced as Avro through the registry (`produce()`) to this run's own topics
 *    (3 partitions each, keyed by iteration_id);
 * 2. baselines on the same events: a bare kafkajs consumer reading every record once, and a
 *    peer-shaped sink (`_services_unwind.ts` `peerSink()`: the Neo4j Kafka connector's Cypher
 *    strategy, per event MERGE of each entity with SET += props and of each relationship, 1,000
 *    events per transaction, one uniqueness constraint per label) to a scratch label set;
 * 3. the pipeline with `drain`, in a child process (`_services_pipeline.ts`) on a private copy
 *    of the spec (own topics, consumer group, Redis prefix, Postgres schema, dead-letter topic):
 *    events/s, and its ratio to the peer;
 * 4. the pipeline live (no drain, same group, so it starts at the end of the topics) while
 *    events of another corpus (seed 2602) are produced after a warm-up at 2,500 events/s for
 *    60 s, then at 5,000 events/s for 60 s; per event, commit of its batch (`DedupStore.commit`,
 *    the runtime's last step) − hand-over to the producer, keys matched between the two
 *    processes (same clock). A phase ends when the pipeline has committed everything, or
 *    `BENCH_CATCH_UP_SECONDS` after its last event (the rest count as lower bounds).
 *
 * For the drain and each rate it prints: graph write time per transaction, Redis check time per
 * call (`seen()`, one round trip per batch), the event-loop lag the runtime samples
 * (`ics_event_loop_lag_seconds`, every 20 ms), CPU seconds per process (`_services_cpu.ts`:
 * pipeline, Neo4j, Kafka, Redis, Postgres, registry, this bench, the rest of the machine) and the
 * pipeline process's peak RSS (VmHWM); each against its target (`_services_report.ts`) with
 * whether it is met. The machine's load average is printed at the start and the end.
 *
 * Then it removes everything it made: topics, consumer groups, registry subjects, Redis keys, the
 * Postgres schema, the Neo4j iterations of both corpora (exactly those ids, also removed at start
 * if an interrupted run left them: two runs at once would collide there) and the scratch labels.
 * Interrupted (Ctrl-C, SIGTERM) it cleans up first; killed, `deno run -A
 * bench/_services_cleanup.ts RUN_ID` (the id printed at the start) does.
 *
 * Environment:
 * - `BENCH_RATES` (`2500,5000`): the sustained rates, events/s, in order;
 * - `BENCH_RATE_SECONDS` (60): how long each rate is produced;
 * - `BENCH_CATCH_UP_SECONDS` (30): how long a phase may wait for the pipeline after its last event;
 * - `BENCH_PEER_EVENTS` (all): how many of the events the peer-shaped sink may write;
 * - `BENCH_PEER_SECONDS` (60): the peer-shaped sink stops after the transaction that ends past
 *   this (its rate is over the events it wrote);
 * - `BENCH_DRAIN_SECONDS` (120): the drain is stopped (SIGTERM: the batches in flight finish) this
 *   long after its start; its rate is then over the events it read, and the table says so;
 * - `BENCH_STORE_WRITE=1`: also the model's changes of those events through ics's own Neo4j
 *   store (`write()`), for the cost of its extras over the peer;
 * - `BENCH_CPU_PROF=DIR`: a V8 CPU profile of the drained pipeline to DIR, summarised.
 * @module
 */
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
  SERVICES,
} from "./_services_setup.ts";
import { changesOf, dropPeer, peerSink, storeWrite } from "./_services_unwind.ts";
import { type CpuMonitor, monitorCpu } from "./_services_cpu.ts";
import { profileSummary } from "./_services_profile.ts";
import {
  bareConsume,
  keysOf,
  latencyOf,
  lines,
  type LiveContext,
  paced,
  type Phase,
  producing,
  untilCaughtUp,
} from "./_services_live.ts";
import { type Column, type Cpu, printDetails, printReport } from "./_services_report.ts";
import { type ChildResult, columnOf, idleSeen, peakRss, spawnPipeline } from "./_services_child.ts";

const env = (name: string, fallback: string) => Deno.env.get(name) ?? fallback;
const EVENTS = Number(Deno.args[0] ?? 200_000);
if (!(Number.isInteger(EVENTS) && EVENTS > 0)) throw new Error(`EVENTS "${Deno.args[0]}"?`);
const RATES = env("BENCH_RATES", "2500,5000").split(",").map(Number);
const RATE_SECONDS = Number(env("BENCH_RATE_SECONDS", "60"));
const CATCH_UP_SECONDS = Number(env("BENCH_CATCH_UP_SECONDS", "30"));
const PEER_EVENTS = Math.min(EVENTS, Number(env("BENCH_PEER_EVENTS", String(EVENTS))));
const PEER_SECONDS = Number(env("BENCH_PEER_SECONDS", "60"));
const DRAIN_SECONDS = Number(env("BENCH_DRAIN_SECONDS", "120"));
const STORE_WRITE = env("BENCH_STORE_WRITE", "") === "1";
const PROFILE = Deno.env.get("BENCH_CPU_PROF");
const budgets = [
  ["RATE", RATE_SECONDS],
  ["CATCH_UP", CATCH_UP_SECONDS],
  ["PEER", PEER_SECONDS],
  ["DRAIN", DRAIN_SECONDS],
] as const;
for (const [name, v] of budgets) {
  if (!(v > 0)) throw new Error(`BENCH_${name}_SECONDS "${v}"?`);
}
if (!RATES.every((r) => Number.isInteger(r) && r > 0)) throw new Error(`BENCH_RATES "${RATES}"?`);
if (!(PEER_EVENTS > 0)) throw new Error(`BENCH_PEER_EVENTS "${PEER_EVENTS}"?`);
const SEED = 2601, LIVE_SEED = 2602, PARTITIONS = 3, WARMUP = 2500;

const began = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${m}`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const perSecond = (n: number, ms: number) => n / (ms / 1000);
const loadavg = () => Deno.loadavg().map((x) => x.toFixed(1)).join(" ");
const loadAtStart = loadavg();

const run = Date.now().toString(36);
const setup = await privateSpec(run);
const { spec, errors } = await loadSpec(setup.specFile);
if (!spec) throw new Error(`private spec does not load: ${JSON.stringify(errors)}`);
const streamTopics = Object.values(setup.topics);
const kafka = new Kafka({
  clientId: "ics-bench",
  brokers: SERVICES.kafka,
  logLevel: logLevel.ERROR,
});
const admin = kafka.admin();
const driver = neo4j.driver(SERVICES.neo4j, undefined, { disableLosslessIntegers: true });
const registry = createRegistry(SERVICES.registry);
const bareGroup = `${setup.group}-bare`;
const state = await Deno.makeTempDir({ prefix: "ics-bench-state-" });
/** The pipeline process running now (drain or live): the cleanup kills it first. */
let child: Deno.ChildProcess | undefined;
let iterations: string[] = [];

/** Everything the run created, removed whatever happened (also on Ctrl-C or SIGTERM). */
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  cleaning ??= (async () => {
    const step = async (what: string, fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (error) {
        console.error(`cleanup: ${what} failed: ${(error as Error).message}`);
      }
    };
    await step("pipeline process", async () => {
      if (!child) return;
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await child.status;
    });
    await step("topics", () => admin.deleteTopics({ topics: [...streamTopics, setup.dlqTopic] }));
    await step("consumer groups", () => deleteGroups(admin, [setup.group, bareGroup]));
    await step("registry subjects", () => deleteSubjects(streamTopics));
    await step("Redis keys", async () =>
      log(`cleanup: ${await deleteRedisKeys(setup.redisPrefix)} Redis keys`));
    await step("Postgres schema", () =>
      dropPgSchema(setup.pgSchema));
    await step("Neo4j scratch labels", () => dropPeer(driver, run, spec));
    await step("Neo4j iterations", async () =>
      log(`cleanup: ${await deleteIterations(driver, iterations)} Neo4j nodes`));
    await step("files", async () => {
      await Deno.remove(setup.dir, { recursive: true });
      await Deno.remove(state, { recursive: true });
    });
    await admin.disconnect().catch(() => {});
    await driver.close().catch(() => {});
  })();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    console.error(`${signal}: cleaning up`);
    producing.abort();
    cleanup().finally(() => Deno.exit(130));
  });
}

const onInvalid = (line: number, reason: string) => console.error(`line ${line}: ${reason}`);

try {
  // 1. corpora and topics, then produce
  log(`run ${run} (if it is killed: deno run -A bench/_services_cleanup.ts ${run})`);
  const data = await corpusOf(SEED, EVENTS);
  const liveEvents = WARMUP + RATES.reduce((a, r) => a + r * RATE_SECONDS, 0);
  const liveData = await corpusOf(LIVE_SEED, liveEvents);
  iterations = [...data.iterations, ...liveData.iterations];
  log(
    `corpus: ${fmt(data.lines.length)} events, ${data.iterations.length} iterations (${data.file})`,
  );
  await admin.connect();
  const stale = await deleteIterations(driver, iterations); // a run interrupted before cleanup
  if (stale) log(`removed ${stale} Neo4j nodes of the corpus iterations left by an earlier run`);
  await ensureTopics(admin, [...streamTopics, setup.dlqTopic], { partitions: PARTITIONS });
  const produced = await produce({
    spec,
    kafka,
    registry,
    streamTopics: setup.topics,
    lines: lines(data.lines),
    onInvalid,
  });
  const total = Object.values(produced.perTopic).reduce((a, b) => a + b, 0);
  log(`produced ${fmt(total)} in ${fmt(produced.elapsed_ms / 1000, 2)} s`);

  // 2. baselines: a bare kafkajs consumer, the peer-shaped sink (and ics's own store, on request)
  const bare = await bareConsume(kafka, bareGroup, streamTopics, total);
  log(`bare consumer: ${fmt(bare.n)} records in ${fmt(bare.ms / 1000, 2)} s`);
  const peerLines = data.lines.slice(0, PEER_EVENTS);
  const peerCpu = await monitorCpu({ [Deno.pid]: "bench" });
  const peer = await peerSink(driver, run, spec, peerLines, { seconds: PEER_SECONDS });
  const peerUse = await peerCpu.stop();
  await dropPeer(driver, run, spec);
  log(
    `peer-shaped MERGE sink: ${fmt(peer.rows)} rows of ${fmt(peer.lines)} events in ${
      fmt(peer.ms / 1000, 2)
    } s`,
  );
  const store = STORE_WRITE
    ? await (async () => {
      const model = await changesOf(spec, peerLines.slice(0, peer.lines));
      const ms = await storeWrite(SERVICES.neo4j, model.batches);
      await deleteIterations(driver, data.iterations);
      const versions = model.batches.reduce((a, b) => a + b.opened.length + b.closed.length, 0);
      log(`store.write: the same events' changes in ${fmt(ms / 1000, 2)} s`);
      return { ms, versions };
    })()
    : undefined;

  // 3. the pipeline, drained
  const drainOut = `${state}/drain.json`;
  const drainProcess = child = spawnPipeline(setup, state, "drain", drainOut, PROFILE);
  const drainCpu = await monitorCpu({ [drainProcess.pid]: "pipeline", [Deno.pid]: "bench" });
  let drainStopped = false;
  const drainBudget = setTimeout(() => {
    drainStopped = true;
    log(`drain: stopping the pipeline after ${DRAIN_SECONDS} s (BENCH_DRAIN_SECONDS)`);
    drainProcess.kill("SIGTERM");
  }, DRAIN_SECONDS * 1000);
  const drainStatus = await drainProcess.status;
  child = undefined;
  clearTimeout(drainBudget);
  const drainUse = await drainCpu.stop();
  if (!drainStatus.success) throw new Error(`pipeline (drain) exited with ${drainStatus.code}`);
  const drain: ChildResult = JSON.parse(await Deno.readTextFile(drainOut));
  log(`pipeline drained ${fmt(drain.received)} events in ${fmt(drain.elapsed_ms / 1000, 2)} s`);

  // 4. live at sustained rates, after a warm-up (the group joins, code gets hot)
  const liveOut = `${state}/live.json`;
  const live = child = spawnPipeline(setup, state, "live", liveOut);
  const ctx: LiveContext = {
    spec,
    kafka,
    admin,
    registry,
    topics: setup.topics,
    group: setup.group,
    process: () => child,
    onInvalid,
  };
  await produce({
    spec,
    kafka,
    registry,
    streamTopics: setup.topics,
    lines: lines(liveData.lines.slice(0, WARMUP)),
    onInvalid,
  });
  if (!await untilCaughtUp(ctx, "warm-up", 180_000)) {
    throw new Error("warm-up: not caught up in 180 s");
  }
  log(`live pipeline caught up with ${WARMUP} warm-up events`);
  const phases: { phase: Phase; cpu: Cpu; rssMiB: number }[] = [];
  let from = WARMUP;
  for (const rate of RATES) {
    const list = liveData.lines.slice(from, from += rate * RATE_SECONDS);
    const keys = keysOf(spec, list);
    log(`producing ${fmt(rate)} events/s for ${RATE_SECONDS} s`);
    const monitor: CpuMonitor = await monitorCpu({ [live.pid]: "pipeline", [Deno.pid]: "bench" });
    const phase = await paced(ctx, list, keys, rate, CATCH_UP_SECONDS * 1000);
    const rssMiB = await peakRss(live.pid);
    phases.push({ phase, cpu: await monitor.stop(), rssMiB });
    if (!phase.caughtUp) {
      log(`${fmt(rate)} events/s: not caught up ${CATCH_UP_SECONDS} s after the last event`);
    }
  }
  live.kill("SIGTERM");
  const liveStatus = await live.status;
  child = undefined;
  if (!liveStatus.success) throw new Error(`pipeline (live) exited with ${liveStatus.code}`);
  const liveRun: ChildResult = JSON.parse(await Deno.readTextFile(liveOut));
  const committedAt = new Map(liveRun.committed.keys.map((k, i) => [k, liveRun.committed.at[i]]));

  // 5. the Redis check on an idle store, with the drain's batch sizes: the service's own share
  const isoMs = await idleSeen(setup.redisPrefix, drain.seen.map(([, size]) => size));

  // the figures
  const drainRate = perSecond(drain.received, drain.elapsed_ms);
  const columns: Column[] = [
    columnOf(drain, { name: "drain", rate: drainRate, rssMiB: drain.peak_rss_kb / 1024 }, drainUse),
    ...phases.map(({ phase, cpu, rssMiB }) =>
      columnOf(
        liveRun,
        {
          name: `${fmt(phase.rate)} ev/s`,
          sustained: phase.rate,
          rate: phase.achieved,
          latency: latencyOf(phase, committedAt),
          rssMiB,
        },
        cpu,
        phase.startedAt,
        phase.endedAt,
      )
    ),
  ];
  printReport({
    header: `ics bench:services: ${fmt(total)} events (seed ${SEED}, ${data.iterations.length} ` +
      `iterations), ${streamTopics.length} topics × ${PARTITIONS} partitions; sustained rates ` +
      `${RATE_SECONDS} s each; ${navigator.hardwareConcurrency} cores, load average ` +
      `${loadAtStart} at start, ${loadavg()} at end`,
    drain: {
      rate: drainRate,
      steady: drain.first_batch_ms ? perSecond(drain.received, drain.first_batch_ms) : NaN,
      seconds: drain.elapsed_ms / 1000,
      events: drain.received,
      of: total,
      stopped: drainStopped,
    },
    peer: {
      rate: perSecond(peer.lines, peer.ms),
      seconds: peer.ms / 1000,
      events: peer.lines,
      rowsPerSecond: perSecond(peer.rows, peer.ms),
    },
    bare: {
      rate: perSecond(bare.n, bare.ms),
      steady: perSecond(bare.n, bare.firstMs),
      seconds: bare.ms / 1000,
    },
    produce: {
      rate: perSecond(total, produced.elapsed_ms),
      seconds: produced.elapsed_ms / 1000,
    },
    columns,
  });

  printDetails({ drain, drainCpu: drainUse, peer, peerCpu: peerUse, store, idleSeenMs: isoMs });
  if (PROFILE) console.log(`\n${await profileSummary(PROFILE)}`);
} finally {
  await cleanup();
  log("done: everything the run created is removed");
}
