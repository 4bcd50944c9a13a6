/**
 * `deno task bench:services [EVENTS]` (default 200,000; not in CI): the services target end to end
 * on this machine (Kafka → decode → Redis dedup → Neo4j graph, metrics to Postgres, dead letters
 * to Kafka), against the running services (`deno task services:up`), in one run of ~6 minutes:
 *
 * 1. a generated corpus (`bench/corpus.ts`, seed 2601: iterations `it-2601-NNNN`, cached in
 *    `.cache/bench/`) produced as Avro through the registry (`produce()`) to this run's own topics
 *    (3 partitions each, keyed by iteration_id);
 * 2. baselines on the same data: a bare kafkajs consumer reading every record once, and bare
 *    `UNWIND` writes to Neo4j of the rows the embedded model makes of the first 50,000 events
 *    (`BENCH_UNWIND_EVENTS`), to a scratch label set (`_services_unwind.ts`); for reference, the
 *    same changes through the Neo4j graph store's own `write()`;
 * 3. the pipeline with `drain`, in a child process (`_services_pipeline.ts`) on a private copy
 *    of the spec (own topics, consumer group, Redis prefix, Postgres schema, dead-letter topic),
 *    as events/s and as ratios to both baselines, with CPU seconds per service (`/proc`);
 * 4. latency: the pipeline live (no drain, same group, so it starts at the end of the topics)
 *    while events of another corpus (seed 2602) are produced at 1,000 events/s for 15 s, then at
 *    5,000 events/s for 30 s; per event, commit of its batch (`DedupStore.commit`, the runtime's
 *    last step) − hand-over to the producer, keys matched between the two processes (same clock);
 * 5. the Redis dedup check: every `seen()` of the runs timed with its batch size, and the same
 *    sizes replayed on an idle store.
 *
 * Prints the figures against the targets, then removes everything it made: topics, consumer
 * groups, registry subjects, Redis keys, the Postgres schema, the Neo4j iterations of both
 * corpora (exactly those ids, also removed at start if an interrupted run left them: two runs at
 * once would collide there) and the scratch labels.
 *
 * Environment: `BENCH_CPU_PROF=DIR` writes a V8 CPU profile of the drained pipeline to DIR and
 * prints where its time went; `BENCH_LIVE_SECONDS` (30), `BENCH_LOW_RATE_SECONDS` (15; 0 skips),
 * `BENCH_CATCH_UP_SECONDS` (60: how long the live pipeline may lag after the last event before
 * the uncommitted events count as lower bounds), `BENCH_UNWIND_EVENTS` (50,000).
 * @module
 */
import { Kafka, logLevel } from "kafkajs";
import neo4j from "neo4j-driver";
import { loadSpec } from "../src/spec/mod.ts";
import { createRegistry } from "../src/schema_registry/mod.ts";
import { produce } from "../src/cli/produce.ts";
import { ensureTopics } from "../src/cli/topics.ts";
import { createDecoder } from "../src/codecs/mod.ts";
import { identify } from "../src/dedup/mod.ts";
import { createRedisStore, schema as redisSchema } from "../src/dedup/redis.ts";
import {
  corpusOf,
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  dropPgSchema,
  lag,
  percentile,
  privateSpec,
  ROOT,
  SERVICES,
} from "./_services_setup.ts";
import { changesOf, dropPeer, peerSink, storeWrite } from "./_services_unwind.ts";
import { monitorCpu } from "./_services_cpu.ts";
import { profileSummary } from "./_services_profile.ts";

const EVENTS = Number(Deno.args[0] ?? 200_000);
if (!(Number.isInteger(EVENTS) && EVENTS > 0)) throw new Error(`EVENTS "${Deno.args[0]}"?`);
const SEED = 2601, LIVE_SEED = 2602, PARTITIONS = 3;
const RATE = 5000, WARMUP = 2500, TICK_MS = 20;
/** A second, lower rate first: the latency when the pipeline keeps up (0 s: skipped). */
const LOW_RATE = 1000, LOW_SECONDS = Number(Deno.env.get("BENCH_LOW_RATE_SECONDS") ?? 15);
const LIVE_SECONDS = Number(Deno.env.get("BENCH_LIVE_SECONDS") ?? 30);
/** How long the live pipeline may take to catch up after the last event (bounds the run time). */
const CATCH_UP_SECONDS = Number(Deno.env.get("BENCH_CATCH_UP_SECONDS") ?? 60);
const UNWIND_EVENTS = Math.min(EVENTS, Number(Deno.env.get("BENCH_UNWIND_EVENTS") ?? 50_000));
const PROFILE = Deno.env.get("BENCH_CPU_PROF");
const TARGETS = { rate: 20_000, p95LatencyMs: 500, p95SeenMs: 5 };

const began = performance.now();
const log = (m: string) =>
  console.error(`[${((performance.now() - began) / 1000).toFixed(1).padStart(5)} s] ${m}`);
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const perSecond = (n: number, ms: number) => n / (ms / 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
let live: Deno.ChildProcess | undefined;
let iterations: string[] = [];

/** Everything the run created, removed whatever happened (also on Ctrl-C). */
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
      if (!live) return;
      try {
        live.kill("SIGKILL");
      } catch { /* ended */ }
      await live.status;
    });
    await step("topics", () => admin.deleteTopics({ topics: [...streamTopics, setup.dlqTopic] }));
    await step("consumer groups", () => admin.deleteGroups([setup.group, bareGroup]));
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
Deno.addSignalListener("SIGINT", () => {
  console.error("interrupted: cleaning up");
  cleanup().finally(() => Deno.exit(130));
});

interface ChildResult {
  elapsed_ms: number;
  first_batch_ms: number | null;
  startup_ms: number | null;
  received: number;
  processed: number;
  duplicates: number;
  dead_letters: number;
  batches: number;
  node_versions: number;
  relationship_versions: number;
  link_versions: number;
  closed: number;
  retries: number;
  stages: Record<string, number>;
  seen: [number, number][];
  /** Graph store load() calls of the model (ms each). */
  loads: number[];
  /** Graph writes: [versions opened + closed, ms]. */
  writes: [number, number][];
  /** Event-loop lag samples (ms). */
  lags: number[];
  committed: { keys: string[]; at: number[] };
  peak_rss_kb: number;
}

function pipeline(mode: "drain" | "live", out: string, profileDir?: string) {
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      ...prof,
      `${ROOT}bench/_services_pipeline.ts`,
      setup.specFile,
      state,
      mode,
      out,
    ],
    cwd: ROOT,
    env: { ICS_GROUP_ID: setup.group },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Wait until the group committed everything in the topics; false when `timeoutMs` passed first. */
async function untilCaughtUp(what: string, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (await lag(admin, setup.group, streamTopics) > 0) {
    if (performance.now() > deadline) return false;
    if (live && await Promise.race([live.status.then(() => true), sleep(100).then(() => false)])) {
      throw new Error(`${what}: the pipeline process ended`);
    }
  }
  return true;
}

/** The lines for produce(); with `stamp`, paced at `rate` and each hand-over time recorded. */
async function* lines(list: Uint8Array[], stamp?: number[], rate = RATE) {
  const perTick = (rate * TICK_MS) / 1000;
  const t0 = performance.now();
  for (let i = 0; i < list.length; i++) {
    if (stamp && i % perTick === 0) {
      const wait = t0 + (i / rate) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
    }
    if (stamp) stamp[i] = Date.now();
    yield { line: i + 1, bytes: list[i] };
  }
}

const onInvalid = (line: number, reason: string) => console.error(`line ${line}: ${reason}`);
const stats = (xs: number[]) => ({
  p50: percentile(xs, 50),
  p95: percentile(xs, 95),
  p99: percentile(xs, 99),
  max: xs.reduce((a, b) => Math.max(a, b), -Infinity),
});

try {
  // 1. corpora and topics, then produce
  log(`run ${run} (if it is killed: deno run -A bench/_services_cleanup.ts ${run})`);
  const data = await corpusOf(SEED, EVENTS);
  const liveData = await corpusOf(LIVE_SEED, WARMUP + LOW_RATE * LOW_SECONDS + RATE * LIVE_SECONDS);
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

  // 2a. bare kafkajs consumer
  const bare = await (async () => {
    const t0 = performance.now();
    const c = kafka.consumer({ groupId: bareGroup, maxWaitTimeInMs: 500 });
    await c.connect();
    await c.subscribe({ topics: streamTopics, fromBeginning: true });
    let n = 0, first = 0, timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`bare consumer read only ${n}`)), 180_000);
      c.run({
        partitionsConsumedConcurrently: 4, // as the ics source
        eachBatch: ({ batch }) => {
          first ||= performance.now();
          n += batch.messages.length;
          if (n >= total) resolve();
          return Promise.resolve();
        },
      }).catch(reject);
    }).finally(() => clearTimeout(timer));
    const t1 = performance.now();
    await c.disconnect();
    return { n, ms: t1 - t0, firstMs: t1 - first };
  })();
  log(`bare consumer: ${fmt(bare.n)} records in ${fmt(bare.ms / 1000, 2)} s`);

  // 2b. the peer-shaped sink on the same events; then the model's changes through the store
  const model = await changesOf(spec, data.lines.slice(0, UNWIND_EVENTS));
  const unwindCpu = await monitorCpu({ [Deno.pid]: "bench" });
  const unwind = await peerSink(driver, run, spec, data.lines.slice(0, UNWIND_EVENTS));
  const unwindUse = await unwindCpu.stop();
  await dropPeer(driver, run, spec);
  log(
    `peer-shaped MERGE sink: ${fmt(unwind.rows)} rows of ${fmt(UNWIND_EVENTS)} events in ${
      fmt(unwind.ms / 1000, 2)
    } s`,
  );
  const storeMs = await storeWrite(SERVICES.neo4j, model.batches);
  await deleteIterations(driver, data.iterations);
  log(`store.write: the same changes in ${fmt(storeMs / 1000, 2)} s`);

  // 3. the pipeline, drained
  const drainOut = `${state}/drain.json`;
  const drainProcess = pipeline("drain", drainOut, PROFILE);
  const drainCpu = await monitorCpu({ [drainProcess.pid]: "pipeline", [Deno.pid]: "bench" });
  const drainStatus = await drainProcess.status;
  const drainUse = await drainCpu.stop();
  if (!drainStatus.success) throw new Error(`pipeline (drain) exited with ${drainStatus.code}`);
  const drain: ChildResult = JSON.parse(await Deno.readTextFile(drainOut));
  log(`pipeline drained ${fmt(drain.received)} events in ${fmt(drain.elapsed_ms / 1000, 2)} s`);

  // 4. live at fixed rates: warm up (the group joins, code gets hot), then LOW_RATE, then RATE
  const liveOut = `${state}/live.json`;
  live = pipeline("live", liveOut);
  await produce({
    spec,
    kafka,
    registry,
    streamTopics: setup.topics,
    lines: lines(liveData.lines.slice(0, WARMUP)),
    onInvalid,
  });
  if (!await untilCaughtUp("warm-up", 180_000)) throw new Error("warm-up: not caught up in 180 s");
  log(`live pipeline caught up with ${WARMUP} warm-up events`);
  const decode = createDecoder(spec);
  /** Produce `seconds` of events at `rate`; their keys and hand-over times. */
  const paced = async (from: number, rate: number, seconds: number) => {
    const list = liveData.lines.slice(from, from + rate * seconds);
    const keys = list.map((value, i) => {
      const d = decode({ value, format: "json", position: { kind: "file", path: "-", line: i } });
      if (!d.ok) throw new Error(`live corpus event ${from + i}: ${d.reason}`);
      return identify(spec.streams.get(d.stream)!, d.event).key;
    });
    const sentAt: number[] = new Array(list.length);
    log(`producing ${fmt(rate)} events/s for ${seconds} s`);
    await produce({
      spec,
      kafka,
      registry,
      streamTopics: setup.topics,
      lines: lines(list, sentAt, rate),
      batch: (rate * TICK_MS) / 1000,
      onInvalid,
    });
    const achieved = perSecond(list.length - 1, sentAt[sentAt.length - 1] - sentAt[0]);
    if (!await untilCaughtUp("live", CATCH_UP_SECONDS * 1000)) {
      log(`live: not caught up ${CATCH_UP_SECONDS} s after the last event; stopping there`);
    }
    return { keys, sentAt, achieved, endedAt: Date.now() };
  };
  const low = LOW_SECONDS > 0 ? await paced(WARMUP, LOW_RATE, LOW_SECONDS) : undefined;
  const high = await paced(WARMUP + LOW_RATE * LOW_SECONDS, RATE, LIVE_SECONDS);
  live.kill("SIGTERM");
  const liveStatus = await live.status;
  live = undefined;
  if (!liveStatus.success) throw new Error(`pipeline (live) exited with ${liveStatus.code}`);
  const liveRun: ChildResult = JSON.parse(await Deno.readTextFile(liveOut));
  const committedAt = new Map(liveRun.committed.keys.map((k, i) => [k, liveRun.committed.at[i]]));
  /**
   * Latency per event. One not committed when its phase ended took at least (end − hand-over):
   * as a lower bound it still bounds every percentile from below (order statistics are monotone).
   */
  const latencyOf = (phase: Awaited<ReturnType<typeof paced>>) => {
    const latencies: number[] = [];
    let pending = 0;
    phase.keys.forEach((k, i) => {
      let at = committedAt.get(k);
      if (at === undefined || at > phase.endedAt) pending++, at = phase.endedAt;
      latencies.push(at - phase.sentAt[i]);
    });
    return { ...stats(latencies), pending, count: phase.keys.length, rate: phase.achieved };
  };
  const latency = latencyOf(high);
  const lowLatency = low && latencyOf(low);
  log(`live: ${fmt(latency.count - latency.pending)} of ${fmt(latency.count)} events committed`);

  // 5. the dedup check: the run's own calls, and the same batch sizes on an idle store
  const iso = await createRedisStore(
    redisSchema.parse({
      type: "redis",
      url: SERVICES.redis,
      key_prefix: `${setup.redisPrefix}iso:`,
    }),
    60,
    { log: () => {} },
  );
  const isoMs: number[] = [];
  for (const [size] of drain.seen) {
    const ks = Array.from({ length: size }, () => ({
      key: crypto.randomUUID() + crypto.randomUUID(),
      digest: crypto.randomUUID().replaceAll("-", ""),
    }));
    const t0 = performance.now();
    await iso.seen(ks);
    isoMs.push(performance.now() - t0);
  }
  await iso.close();

  // the figures
  const seenDrain = stats(drain.seen.map(([, ms]) => ms));
  const seenLive = stats(liveRun.seen.map(([, ms]) => ms));
  const seenIso = stats(isoMs);
  const sizes = (s: [number, number][]) => percentile(s.map(([n]) => n), 50);
  const pipelineRate = perSecond(drain.received, drain.elapsed_ms);
  const pipelineSteady = drain.first_batch_ms
    ? perSecond(drain.received, drain.first_batch_ms)
    : NaN;
  const bareRate = perSecond(bare.n, bare.ms), bareSteady = perSecond(bare.n, bare.firstMs);
  const unwindRate = perSecond(UNWIND_EVENTS, unwind.ms);
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
  const row = (figure: string, value: string, target = "", result = "") =>
    console.log(`${figure.padEnd(40)}${value.padEnd(58)}${target.padEnd(16)}${result}`);
  const pipelineRows = drain.node_versions + drain.relationship_versions + drain.link_versions +
    drain.closed;
  const ms = (n: number) => fmt(n, n < 10 ? 2 : 0);
  console.log(
    `\nics bench:services: ${
      fmt(total)
    } events (seed ${SEED}, ${data.iterations.length} iterations), ` +
      `${streamTopics.length} topics × ${PARTITIONS} partitions, ${navigator.hardwareConcurrency} cores, ` +
      `load ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`,
  );
  row("figure", "value", "target", "result");
  row(
    "produce (Avro via registry)",
    `${fmt(perSecond(total, produced.elapsed_ms))} events/s (${
      fmt(produced.elapsed_ms / 1000, 2)
    } s)`,
  );
  row(
    "raw consume (bare kafkajs)",
    `${fmt(bareRate)} records/s (${fmt(bare.ms / 1000, 2)} s; ${fmt(bareSteady)}/s from 1st)`,
  );
  row(
    `peer-shaped MERGE sink (${fmt(UNWIND_EVENTS / 1000)}k events)`,
    `${fmt(unwindRate)} events/s (${fmt(unwind.ms / 1000, 2)} s, ${
      fmt(perSecond(unwind.rows, unwind.ms))
    } rows/s)`,
  );
  row(
    "  ics's graph store, the same events",
    `${fmt(perSecond(UNWIND_EVENTS, storeMs))} events-eq/s (${fmt(storeMs / 1000, 2)} s; ` +
      `store / peer = ${(unwind.ms / storeMs).toFixed(3)})`,
  );
  row(
    "pipeline end to end (drain)",
    `${fmt(pipelineRate)} events/s (${fmt(drain.elapsed_ms / 1000, 2)} s; ${
      fmt(pipelineSteady)
    }/s from 1st)`,
    `≥ ${fmt(TARGETS.rate)}/s`,
    verdict(pipelineRate >= TARGETS.rate),
  );
  row(
    "  pipeline / raw consume",
    `${(pipelineRate / bareRate).toFixed(3)} (from 1st: ${
      (pipelineSteady / bareSteady).toFixed(3)
    })`,
  );
  row(
    "  pipeline / peer-shaped sink",
    `${(pipelineRate / unwindRate).toFixed(3)} (from 1st: ${
      (pipelineSteady / unwindRate).toFixed(3)
    })`,
  );
  const latencyRow = (l: typeof latency, target: boolean) => {
    row(
      `e2e latency @ ${fmt(l.rate)} ev/s, ${fmt(l.count / (l.rate || 1))} s`,
      `${l.pending ? "≥ " : ""}p50 ${ms(l.p50)} / p95 ${ms(l.p95)} / p99 ${ms(l.p99)} / max ${
        ms(l.max)
      } ms`,
      target ? `p95 < ${TARGETS.p95LatencyMs} ms` : "",
      target ? verdict(l.p95 < TARGETS.p95LatencyMs) : "",
    );
    if (l.pending) {
      row(
        "  not committed in time",
        `${fmt(l.pending)} of ${fmt(l.count)} (${CATCH_UP_SECONDS} s after the last): lower bounds`,
      );
    }
  };
  latencyRow(latency, true);
  if (lowLatency) latencyRow(lowLatency, false);
  row(
    "Redis seen() per batch, drain run",
    `p50 ${ms(seenDrain.p50)} / p95 ${ms(seenDrain.p95)} ms (${drain.seen.length} calls, ~${
      fmt(sizes(drain.seen))
    } keys)`,
    `p95 < ${TARGETS.p95SeenMs} ms`,
    verdict(seenDrain.p95 < TARGETS.p95SeenMs),
  );
  row(
    "Redis seen() per batch, live run",
    `p50 ${ms(seenLive.p50)} / p95 ${ms(seenLive.p95)} ms (${liveRun.seen.length} calls, ~${
      fmt(sizes(liveRun.seen))
    } keys)`,
    `p95 < ${TARGETS.p95SeenMs} ms`,
    verdict(seenLive.p95 < TARGETS.p95SeenMs),
  );
  row("Redis seen() drain sizes, idle store", `p50 ${ms(seenIso.p50)} / p95 ${ms(seenIso.p95)} ms`);
  console.log(
    `\ndrain run: ${fmt(drain.received)} read, ${
      fmt(drain.processed)
    } processed, ${drain.duplicates} duplicates, ` +
      `${drain.dead_letters} dead letters, ${drain.batches} batches, ${drain.retries} retries; ` +
      `${fmt(pipelineRows)} graph rows (${fmt(drain.node_versions)} node, ${
        fmt(drain.relationship_versions)
      } rel, ` +
      `${fmt(drain.link_versions)} link versions opened, ${fmt(drain.closed)} closed); start-up ` +
      `${fmt((drain.startup_ms ?? 0) / 1000, 2)} s; peak RSS ${fmt(drain.peak_rss_kb / 1024)} MiB`,
  );
  const loads = stats(drain.loads), lags = stats(drain.lags), liveLags = stats(liveRun.lags);
  console.log(
    `graph model reads (store.load for iterations not in memory): ${drain.loads.length} calls, ` +
      `${fmt(drain.loads.reduce((a, b) => a + b, 0) / 1000, 1)} s in all, p50 ${ms(loads.p50)} / ` +
      `p95 ${ms(loads.p95)} ms; event-loop lag of the pipeline process p50 ${ms(lags.p50)} / p95 ` +
      `${ms(lags.p95)} / max ${ms(lags.max)} ms (live run: p95 ${ms(liveLags.p95)} / max ${
        ms(liveLags.max)
      } ms)`,
  );
  const writeLine = (w: [number, number][]) => {
    const t = stats(w.map(([, ms]) => ms)), rows = w.reduce((a, [n]) => a + n, 0);
    const time = w.reduce((a, [, ms]) => a + ms, 0);
    return `${w.length} transactions, ~${fmt(percentile(w.map(([n]) => n), 50))} versions each, ` +
      `p50 ${ms(t.p50)} / p95 ${ms(t.p95)} ms, ${fmt(perSecond(rows, time))} versions/s`;
  };
  console.log(
    `graph writes: drain run ${writeLine(drain.writes)}; live run ${writeLine(liveRun.writes)}`,
  );
  console.log(
    `stage busy time (s, overlapping: processing of batch n+1 runs while batch n is written): ` +
      Object.entries(drain.stages).map(([s, v]) => `${s} ${v.toFixed(2)}`).join(", "),
  );
  const versions = model.batches.reduce((a, b) => a + b.opened.length + b.closed.length, 0);
  console.log(
    `model: ${fmt(versions / UNWIND_EVENTS, 2)} versions opened or closed per event ` +
      `(pipeline ${fmt(pipelineRows / drain.processed, 2)}); the peer writes ` +
      `${fmt(unwind.rows / UNWIND_EVENTS, 2)} rows per event; model ${fmt(model.ms / 1000, 2)} s ` +
      `(not in the rate)`,
  );
  const cpu = (u: { wall_s: number; cpu_s: Record<string, number> }) =>
    `${fmt(u.wall_s, 1)} s wall × ${navigator.hardwareConcurrency} cores: ` +
    Object.entries(u.cpu_s).sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v.toFixed(1)}`)
      .join(", ");
  console.log(`CPU seconds during the drain run: ${cpu(drainUse)}`);
  console.log(`CPU seconds during the peer-shaped sink: ${cpu(unwindUse)}`);
  if (PROFILE) console.log(`\n${await profileSummary(PROFILE)}`);
} finally {
  await cleanup();
  log("done: everything the run created is removed");
}
