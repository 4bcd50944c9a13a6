/**
 * Scale-out on Kafka: runner instances in one consumer group over co-partitioned topics (4
 * partitions, keyed by iteration_id) build the same graph as one instance on the same input,
 * compared by the `ics checksum` hash with the embedded target's graph of the same JSON Lines.
 *
 * 1. Two instances with `--drain` over the whole corpus: both work, both stop on their own once
 *    the group has processed everything.
 * 2. The corpus in three waves (a third of every iteration's events each), so that every
 *    iteration's state is built by several owners: two instances take wave 1; a third joins as
 *    wave 2 arrives; as wave 3 arrives one instance leaves (SIGTERM) and the joiner is killed
 *    (SIGKILL); the last instance runs until the group's lag is zero.
 * Each time: equal checksum, one metric row per event in Postgres, every partition assignment
 * co-partitioned.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Partitioners } from "kafkajs";
import postgresJs from "postgres";
import neo4j from "neo4j-driver";
import { SERVICES, serviceTest } from "./_services.ts";
import { createTopics, kafka } from "./_kafka.ts";
import { copy } from "../_copy.ts";
import { corpus, type Event, iterationId, toJsonl } from "../../bench/corpus.ts";
import {
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  dropPgSchema,
  lag,
} from "../../bench/_services_setup.ts";
import { type CompiledSpec, loadSpec } from "../../src/compiler/mod.ts";
import { compile, run as runPipeline } from "../../src/runtime/mod.ts";
import { checksum } from "../../src/graph/checksum.ts";
import { openSqliteGraph } from "../../src/sinks/sqlite_graph.ts";
import { openNeo4jGraph, schema as neo4jSchema } from "../../src/sinks/neo4j_graph/mod.ts";
import { produce } from "../../src/cli/produce.ts";
import { fileLines } from "../../src/cli/_kafka.ts";
import { createRegistry } from "../../src/schema_registry/mod.ts";

const root = new URL("../..", import.meta.url).pathname;
const main = `${root}src/cli/main.ts`;
const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const ITERATIONS = 12; // about 2,800 events
const PARTITIONS = 4;
const STREAMS = ["dde", "bdv", "acc"];

/**
 * A corpus seed unique to this run (iteration ids it-<seed>-NNNN) whose iterations hash onto every
 * partition at least twice (as `ics produce` keys them), so every instance has work.
 */
function chooseSeed(): number {
  const partitionOf = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from(
    { length: PARTITIONS },
    (_, partitionId) => ({
      partitionId,
      leader: 0,
      partitionErrorCode: 0,
      replicas: [0],
      isr: [0],
    }),
  );
  for (let seed = 10_000 + Math.floor(Math.random() * 80_000);; seed++) {
    const load = Array(PARTITIONS).fill(0);
    for (let n = 1; n <= ITERATIONS; n++) {
      const message = { key: iterationId(seed, n), value: null };
      load[partitionOf({ topic: "t", partitionMetadata, message })]++;
    }
    if (load.every((l) => l >= 2)) return seed;
  }
}
const seed = chooseSeed();
const prefix = `${iterationId(seed, 1).slice(0, -4)}`;
const ids = Array.from({ length: ITERATIONS }, (_, i) => iterationId(seed, i + 1));

const topicsOf = (scenario: string) =>
  STREAMS.map((s) => `trimodal.events.${s}.${run}.${scenario}`);
const dlqOf = (scenario: string) => `trimodal.events.dlq.${run}.${scenario}`;
const groupOf = (scenario: string) => `scale-${run}-${scenario}`;
const pgSchemaOf = (scenario: string) => `scale_${run}_${scenario}`;
const redisPrefixOf = (scenario: string) => `scale:${run}:${scenario}:`;

/** The spec with every name private to this run and scenario (`ICS_SCENARIO`). */
async function privateSpec(dir: string): Promise<string> {
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
  const file = join(dir, "pipeline.yaml");
  let text = await Deno.readTextFile(file);
  const replace = (from: string | RegExp, to: string) => {
    const out = text.replace(from, to);
    assert.notEqual(out, text, `pipeline.yaml changed: cannot rewrite ${from}`);
    text = out;
  };
  text = text.replaceAll(
    /topic: (trimodal\.events\.\w+)/g,
    `topic: "$1.${run}.\${ICS_SCENARIO:-none}"`,
  );
  replace(
    `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }`,
    `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}", key_prefix: "scale:${run}:\${ICS_SCENARIO:-none}:" }`,
  );
  replace(
    `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}" }`,
    `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}", schema: "scale_${run}_\${ICS_SCENARIO:-none}" }`,
  );
  replace(
    `      type: kafka\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
    `      type: kafka\n      topic: "trimodal.events.dlq.${run}.\${ICS_SCENARIO:-none}"\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
  );
  // Small batches, so rebalances find batches in flight; a killed member is noticed in 6 s.
  replace(
    /(\n {6}schema_registry: .*\n)/,
    `$1      max_batch_records: 100\n      session_timeout_ms: 6000\n`,
  );
  await Deno.writeTextFile(file, text);
  return file;
}

/** A runner instance in the background; its output is collected as it comes. */
function instance(name: string, scenario: string, spec: string, dir: string, drain: boolean) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      main,
      "run",
      "--spec",
      spec,
      "--target",
      "services",
      "--state",
      join(dir, `state-${scenario}-${name}`),
      "--metrics-port",
      "0",
      ...(drain ? ["--drain"] : []),
    ],
    cwd: root,
    env: { ICS_SCENARIO: scenario, ICS_GROUP_ID: groupOf(scenario), ICS_INSTANCE: name },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000), // a hung instance fails the test
  }).spawn();
  const out = { stdout: "", stderr: "" };
  const collect = async (
    stream: ReadableStream<Uint8Array<ArrayBuffer>>,
    key: "stdout" | "stderr",
  ) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) out[key] += text;
  };
  const collected = Promise.all([
    collect(child.stdout, "stdout"),
    collect(child.stderr, "stderr"),
  ]);
  return {
    name,
    out,
    kill: (signal: Deno.Signal) => child.kill(signal),
    /** Exit status once the output is complete. */
    done: async () => {
      const status = await child.status;
      await collected;
      return status;
    },
    /** The partitions of each group join, per topic (from its log). */
    joins: () =>
      [...out.stderr.matchAll(/kafka: joined group \S+: (.*)/g)].map((m) =>
        m[1] === "no partitions" ? {} : Object.fromEntries(
          [...m[1].matchAll(/(\S+) \[([\d,]*)\]/g)].map((t) => [t[1], t[2]]),
        )
      ),
    /** Events it read, from its summary. */
    read: () => Number(out.stdout.match(/events read\s+(\d+)/)?.[1] ?? NaN),
  };
}
type Instance = ReturnType<typeof instance>;

/** Every join gave an instance the same partition numbers in every topic. */
function assertCoPartitioned(instances: Instance[], scenario: string) {
  for (const i of instances) {
    const joins = i.joins();
    assert.ok(joins.length > 0, `${i.name} joined the group\n${i.out.stderr}`);
    for (const j of joins) {
      const lists = Object.values(j);
      if (lists.length === 0) continue;
      assert.deepEqual(Object.keys(j).sort(), topicsOf(scenario).sort(), JSON.stringify(j));
      for (const l of lists) {
        assert.equal(l, lists[0], `${i.name} co-partitioned: ${JSON.stringify(j)}`);
      }
    }
  }
}

async function until(what: string, check: () => Promise<boolean> | boolean, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

serviceTest(
  "scale-out: instances in one group, joining and leaving mid-run, build the single-instance graph",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "ics-scale-" });
    const specFile = await privateSpec(dir);
    const loaded = await loadSpec(specFile);
    assert.ok(loaded.spec, "the private spec loads");
    const spec: CompiledSpec = loaded.spec;
    const driver = neo4j.driver(SERVICES.neo4j);
    const neo = await openNeo4jGraph(neo4jSchema.parse({ type: "neo4j", uri: SERVICES.neo4j }));
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {}, max: 1 });
    const admin = kafka.admin();
    await admin.connect();
    const registry = createRegistry(SERVICES.schema_registry);
    const started: Instance[] = [];
    const cleanup: AsyncDisposable[] = [];
    try {
      // The input: a generated corpus, recent (metric rows older than the retention go).
      const events: Event[] = [...corpus({
        iterations: ITERATIONS,
        seed,
        startTime: Date.now() - 86_400_000,
      })];
      const jsonl = join(dir, "corpus.jsonl");
      await Deno.writeTextFile(jsonl, events.map(toJsonl).join(""));
      const perStream = Object.fromEntries(STREAMS.map((s) => [s, 0]));
      for (const e of events) perStream[spec.streamOfEventType.get(String(e.event_type))!]++;

      // The reference: one embedded run (SQLite) on the same lines.
      const local = join(dir, "local");
      const pipeline = await compile(spec, { input: jsonl, stateDir: local });
      await runPipeline(pipeline).finally(() => pipeline.close());
      const sqlite = openSqliteGraph(join(local, "graph.db"));
      const expected = await checksum(sqlite, { prefix }).finally(() => sqlite.close());
      assert.equal(expected.iterations, ITERATIONS);
      assert.ok(expected.links > 100, `a graph with links (${expected.links})`);

      /** Private topics with 4 partitions; `waves` of the corpus produced as `ics produce` does. */
      const topicsFor = async (scenario: string) => {
        const topics = topicsOf(scenario);
        cleanup.push(await createTopics([...topics, dlqOf(scenario)], PARTITIONS));
        const streamTopics = Object.fromEntries(STREAMS.map((s, i) => [s, topics[i]]));
        return (file: string) =>
          produce({ spec, kafka, registry, streamTopics, lines: fileLines(file) });
      };
      const caughtUp = (scenario: string) =>
        lag(admin, groupOf(scenario), topicsOf(scenario)).then((n) => n === 0);

      /** The stored results of a scenario equal the single-instance run's. */
      const verify = async (scenario: string) => {
        assert.deepEqual(await checksum(neo, { prefix }), expected, "same graph checksum");
        const rows = await sql.unsafe(
          STREAMS.map((s) =>
            `SELECT '${s}' AS stream, count(*) AS n, count(DISTINCT event_key) AS keys ` +
            `FROM ${pgSchemaOf(scenario)}.${s}_event_metrics`
          ).join(" UNION ALL "),
        );
        for (const r of rows) {
          assert.equal(Number(r.n), Number(r.keys), `${r.stream}: no metric row twice`);
        }
        assert.deepEqual(
          Object.fromEntries(rows.map((r) => [r.stream, Number(r.n)])),
          perStream,
          "one metric row per event",
        );
        assert.ok(await caughtUp(scenario), "every offset committed");
      };

      await t.step("two instances with --drain share the work", async () => {
        const scenario = "a";
        await (await topicsFor(scenario))(jsonl);
        const pair = [
          instance("a1", scenario, specFile, dir, true),
          instance("a2", scenario, specFile, dir, true),
        ];
        started.push(...pair);
        // Both stop on their own once the group has committed everything.
        for (const i of pair) {
          const status = await i.done();
          assert.equal(status.code, 0, `${i.name}\n${i.out.stderr}\n${i.out.stdout}`);
          assert.ok(i.read() > 0, `${i.name} read events: ${i.out.stdout}`);
        }
        assert.ok(pair[0].read() + pair[1].read() >= events.length);
        assertCoPartitioned(pair, scenario);
        await verify(scenario);
      });

      // Scenario b starts from an empty graph.
      await deleteIterations(driver, ids);
      assert.equal((await checksum(neo, { prefix })).iterations, 0, "graph emptied");

      await t.step("a third instance joins and two leave mid-run (SIGTERM, SIGKILL)", async () => {
        const scenario = "b";
        const send = await topicsFor(scenario);
        // Three waves, a third of every iteration's events each: every iteration's state is
        // built by several owners in turn.
        const byIteration = Map.groupBy(events, (e) => String(e.iteration_id));
        const waves = [0, 1, 2].map((w) => join(dir, `wave-${w}.jsonl`));
        for (let w = 0; w < 3; w++) {
          const part = [...byIteration.values()].flatMap((list) =>
            list.filter((_, i) => Math.floor((3 * i) / list.length) === w)
          );
          await Deno.writeTextFile(waves[w], part.map(toJsonl).join(""));
        }

        await send(waves[0]);
        const b1 = instance("b1", scenario, specFile, dir, false);
        const b2 = instance("b2", scenario, specFile, dir, false);
        started.push(b1, b2);
        await until("wave 1 to be processed", () => caughtUp(scenario));

        await send(waves[1]);
        const b3 = instance("b3", scenario, specFile, dir, false);
        started.push(b3);
        await until(
          "the third instance to get partitions",
          () => b3.joins().some((j) => Object.keys(j).length > 0),
        );
        await until("wave 2 to be processed", () => caughtUp(scenario));

        await send(waves[2]);
        b2.kill("SIGTERM"); // leaves: finishes its batches in flight, then the group
        b3.kill("SIGKILL"); // vanishes: its partitions move once its session expires
        assert.equal((await b2.done()).code, 0, `b2 stops cleanly\n${b2.out.stderr}`);
        assert.equal((await b3.done()).signal, "SIGKILL");
        await until("wave 3 to be processed by the last instance", () => caughtUp(scenario));
        b1.kill("SIGTERM");
        assert.equal((await b1.done()).code, 0, `b1 stops cleanly\n${b1.out.stderr}`);
        assert.ok(b1.read() > 0 && b2.read() > 0, "both first instances worked");
        assertCoPartitioned([b1, b2, b3], scenario);
        await verify(scenario);
      });
    } finally {
      for (const i of started) {
        try {
          i.kill("SIGKILL");
        } catch { /* exited already */ }
        await i.done().catch(() => {});
      }
      for (const c of cleanup) await c[Symbol.asyncDispose]();
      // A group is deleted once empty: a killed member stays until its session expires.
      for (const g of ["a", "b"].map(groupOf)) {
        await until(
          `group ${g} deleted`,
          () => admin.deleteGroups([g]).then(() => true, () => false),
          30_000,
        )
          .catch(() => {});
      }
      await admin.disconnect();
      await deleteSubjects(["a", "b"].flatMap(topicsOf));
      for (const s of ["a", "b"]) {
        await deleteRedisKeys(redisPrefixOf(s));
        await dropPgSchema(pgSchemaOf(s));
      }
      await deleteIterations(driver, ids);
      await driver.close();
      await neo.close();
      await sql.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
