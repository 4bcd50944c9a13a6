/**
 * Fencing end to end (issue #13), on real Kafka, Redis, Neo4j and Postgres. Two runner instances
 * in one consumer group, in this process, over private topics of one partition:
 *
 * 1. Instance A owns the partition and writes the first half of every iteration's events. It
 *    reaches Neo4j through a proxy, which goes dark (blackhole) just as A starts writing a batch
 *    of the second half: the write stalls, its batch processed and its metrics written.
 * 2. B joins. A's batch outlasts the rebalance timeout, so A rejoins without committing it, and
 *    the assigner gives the partition to B (its client id sorts first). B claims the partition,
 *    rebuilds the iterations from Neo4j, writes the second half and commits it: the graph is the
 *    single-instance run's.
 * 3. A's proxy comes back: A's stalled write reaches Neo4j.
 *
 * Without fencing (A's store has no `claim()`), the late write lands over B's: believed versions
 * are doubled and the checksum is no longer the single-instance run's. With fencing, it is refused
 * inside its transaction (A's log says so), none of its versions is in the graph, and the graph's
 * `ics checksum` and the Postgres metric rows (one per event) are the single-instance run's.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import postgresJs from "postgres";
import neo4j from "neo4j-driver";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import { type Instance, joins, running, start, until } from "./_instance.ts";
import { createTopics, kafka, spec as rootSpec } from "./_kafka.ts";
import { deleteSubjects, privateSpec } from "./_private.ts";
import { corpus, type Event, iterationId, toJsonl } from "../../bench/corpus.ts";
import {
  deleteIterations,
  deleteRedisKeys,
  dropPgSchema,
  lag,
} from "../../bench/_services_setup.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { stateChecksum } from "../../src/cli/checksum.ts";
import { openNeo4jGraph, schema as neo4jSchema } from "../../src/sinks/neo4j_graph/mod.ts";
import { produce } from "../../src/cli/produce.ts";
import { fileLines } from "../../src/cli/_kafka.ts";
import { createRegistry } from "../../src/schema_registry/mod.ts";
import type { GraphChanges } from "../../src/core/types.ts";
import type { GraphStore } from "../../src/core/component.ts";
import { FencedError } from "../../src/core/errors.ts";

const RUN = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const ITERATIONS = 3;
const STREAMS = ["dde", "bdv", "acc"];
// Iteration ids of their own (Neo4j is shared): it-<seed>-NNNN.
const SEED = 100_000 + Math.floor(Math.random() * 900_000);
const PREFIX = iterationId(SEED, 1).slice(0, -4);
const IDS = Array.from({ length: ITERATIONS }, (_, i) => iterationId(SEED, i + 1));

interface Outcome {
  /** `ics checksum` of the Neo4j graph once B wrote the second half, before A's write returns. */
  beforeLateWrite: string;
  /** ... and once both instances stopped. */
  after: string;
  /** Versions A's stalled writes opened, and how many of them are in the graph. */
  stalledVersions: number;
  landed: number;
  /** Believed versions sharing their fact and valid_from with another believed version. */
  doubled: number;
  /** Batches A counted as committed once its write stalled. */
  committedByA: number;
  a: Instance;
  b: Instance;
  /** Per stream: metric rows, distinct event keys. */
  metrics: Record<string, { rows: number; keys: number }>;
  lag: number;
}

/** Services and input the two scenarios share. */
interface Shared {
  driver: ReturnType<typeof neo4j.driver>;
  neo: GraphStore;
  sql: ReturnType<typeof postgresJs>;
  registry: ReturnType<typeof createRegistry>;
  /** The input in two halves (JSON Lines files). */
  halves: string[];
}

/** The scenario, with or without fencing; everything it made is removed at its end. */
async function scenario(
  { driver, neo, sql, registry, halves }: Shared,
  name: string,
  fencing: boolean,
): Promise<Outcome> {
  await using proxy = await startProxy(hostPort("neo4j"));
  const ps = await privateSpec(name);
  const doc = parse(await Deno.readTextFile(ps.spec));
  doc.runtime.retry = { initial_ms: 100, max_ms: 1000 };
  const services = doc.targets.services;
  const instance = (id: string, graph: unknown) => ({
    ...services,
    source: {
      ...services.source,
      // The co-partitioned assigner deals partitions to members sorted by id, and a member
      // id starts with its client id: B (1) is dealt the one partition before A (2).
      client_id: `ics-${name}-${id}`,
      max_batch_records: 100,
      session_timeout_ms: 6000,
      rebalance_timeout_ms: 6000, // a batch in flight holds a rebalance 4 s at most
    },
    graph,
    dlq: { ...services.dlq, transactional_id: `ics-dlq-${name}-${id}` },
  });
  doc.targets.a = instance("2-a", { type: "neo4j", uri: `bolt://${proxy.address}` });
  doc.targets.b = instance("1-b", services.graph);
  await Deno.writeTextFile(ps.spec, stringify(doc));
  const loaded = await loadSpec(ps.spec);
  assert.ok(loaded.spec, JSON.stringify(loaded.errors));
  const spec = loaded.spec;
  const topics = Object.values(ps.streamTopics);
  await using _topics = await createTopics([...topics, ps.dlqTopic], 1);
  // An admin of its own: a kafkajs admin keeps asking for the metadata of topics it once saw,
  // and fails once they are deleted (the other scenario's).
  const admin = kafka.admin();
  await admin.connect();
  const send = (file: string) =>
    produce({ spec, kafka, registry, streamTopics: ps.streamTopics, lines: fileLines(file) });
  const caughtUp = () => lag(admin, ps.group, topics).then((n) => n === 0, () => false);
  const checksum = async () =>
    (await stateChecksum(spec, "services", undefined, { prefix: PREFIX })).sha256;

  const started: Instance[] = [];
  try {
    await send(halves[0]);
    const a = await start(spec, "a", ps.dir);
    started.push(a);
    // Without fencing: a store that claims nothing, so A's writes carry no fence.
    if (!fencing) (a.p.graph as { claim?: unknown }).claim = undefined;
    // Once armed, A's next graph write goes dark: the proxy blackholes it.
    let armed = false;
    const stalled = new Set<GraphChanges>();
    const outcomes: string[] = [];
    const write = a.p.graph.write.bind(a.p.graph);
    a.p.graph.write = async (changes, fence) => {
      if (!armed) return write(changes, fence);
      if (stalled.size === 0) await proxy.down("blackhole");
      stalled.add(changes);
      try {
        await write(changes, fence);
        outcomes.push("written");
      } catch (error) {
        if (error instanceof FencedError) outcomes.push("fenced");
        throw error; // transient (the proxy is dark): retried
      }
    };
    running(a);
    await until("A to write the first half", caughtUp);
    assert.deepEqual(joins(a), ["[0]"], a.logs.join("\n"));

    armed = true;
    const committedBefore = a.p.telemetry.get("batches_total");
    await send(halves[1]);
    await until("A's write to stall", () => stalled.size > 0);

    const b = await start(spec, "b", ps.dir);
    started.push(b);
    running(b);
    // B gets the partition (A rejoined without its stalled batch) and writes the second half.
    await until("B to get the partition", () => joins(b).includes("[0]"));
    await until("B to write the second half", caughtUp);
    // A rejoined (once, or again if the group gave up on it) and was given nothing.
    assert.deepEqual(new Set(joins(a).slice(1)), new Set(["none"]), a.logs.join("\n"));
    assert.ok(
      a.logs.some((l) => /rebalance: \d+ batch\(es\) still unwritten/.test(l)),
      a.logs.join("\n"),
    );
    const beforeLateWrite = await checksum();

    // A's proxy comes back: its stalled write reaches Neo4j.
    await proxy.up();
    await until("A's stalled write to return", () => outcomes.length > 0);
    await a.stop(); // the batches it still holds are written (or refused) first
    await b.stop();

    // What A's stalled writes opened, and what of it is in the graph.
    const opened = new Set([...stalled].flatMap((c) => c.opened.map((v) => v.version_id)));
    const inGraph = new Set<string>();
    let doubled = 0;
    for (const iteration_id of IDS) {
      for (const v of await neo.query({ iteration_id, history: true })) {
        inGraph.add(v.version_id);
      }
      const believed = await neo.query({ iteration_id });
      const periods = new Set(believed.map((v) => `${v.kind} ${v.id} ${v.valid_from}`));
      doubled += believed.length - periods.size;
    }
    const metrics: Outcome["metrics"] = {};
    for (const s of STREAMS) {
      const [r] = await sql.unsafe(
        `SELECT count(*)::int AS rows, count(DISTINCT event_key)::int AS keys ` +
          `FROM ${ps.pgSchema}.${s}_event_metrics`,
      );
      metrics[s] = { rows: r.rows, keys: r.keys };
    }
    assert.ok(a.p.telemetry.get("retries_total", { component: "graph" }) > 0, "A stalled");
    return {
      beforeLateWrite,
      after: await checksum(),
      stalledVersions: opened.size,
      landed: [...opened].filter((id) => inGraph.has(id)).length,
      doubled,
      committedByA: a.p.telemetry.get("batches_total") - committedBefore,
      a,
      b,
      metrics,
      lag: await lag(admin, ps.group, topics),
    };
  } finally {
    for (const i of started) await i.stop().catch(() => {});
    await admin.deleteGroups([ps.group]).catch(() => {});
    await admin.disconnect();
    await deleteSubjects(ps);
    await deleteRedisKeys(ps.redisPrefix);
    await dropPgSchema(ps.pgSchema);
    await deleteIterations(driver, IDS);
    await driver.executeQuery(
      "MATCH (l:IcsLease) WHERE l.part STARTS WITH $group DELETE l",
      { group: `${ps.group}/` },
    );
    await Deno.remove(ps.dir, { recursive: true });
  }
}

serviceTest(
  "fencing: after a rebalance, a stalled previous owner's write is refused and the graph is the single-instance one",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "ics-fencing-" });
    const driver = neo4j.driver(SERVICES.neo4j);
    const neo = await openNeo4jGraph(neo4jSchema.parse({ type: "neo4j", uri: SERVICES.neo4j }));
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {}, max: 1 });
    const registry = createRegistry(SERVICES.schema_registry);
    try {
      // The input: every iteration's events in two halves, recent (metric rows have a retention).
      const events: Event[] = [
        ...corpus({ iterations: ITERATIONS, seed: SEED, startTime: Date.now() - 86_400_000 }),
      ];
      const byIteration = Map.groupBy(events, (e) => String(e.iteration_id));
      const halves = [0, 1].map((h) => join(dir, `half-${h}.jsonl`));
      for (let h = 0; h < 2; h++) {
        const part = [...byIteration.values()].flatMap((list) =>
          list.filter((_, i) => Math.floor((2 * i) / list.length) === h)
        );
        await Deno.writeTextFile(halves[h], part.map(toJsonl).join(""));
      }
      const jsonl = join(dir, "all.jsonl");
      await Deno.writeTextFile(jsonl, events.map(toJsonl).join(""));

      // The reference: one embedded run (SQLite) over the whole input, as `ics checksum` hashes it.
      const local = join(dir, "local");
      const single = await compile(rootSpec, { input: jsonl, stateDir: local });
      await run(single).finally(() => single.close());
      const expected = await stateChecksum(rootSpec, "local", local, { prefix: PREFIX });
      assert.equal(expected.iterations, ITERATIONS);
      assert.ok(expected.links > 10, `a graph with links (${expected.links})`);
      const perStream = Object.fromEntries(STREAMS.map((s) => [s, 0]));
      for (const e of events) perStream[rootSpec.streamOfEventType.get(String(e.event_type))!]++;
      const shared = { driver, neo, sql, registry, halves };

      await t.step("without fencing, the stalled owner's late write doubles versions", async () => {
        const o = await scenario(shared, `fence_${RUN}_off`, false);
        assert.equal(o.beforeLateWrite, expected.sha256, "B alone built the single-instance graph");
        assert.ok(o.stalledVersions > 0, "A's stalled write opened versions");
        assert.equal(o.landed, o.stalledVersions, "A's late write landed whole");
        assert.ok(o.doubled > 0, `doubled believed versions: ${o.doubled}`);
        assert.ok(o.committedByA > 0, "A went on to commit its late batches");
        assert.notEqual(o.after, expected.sha256, "the graph is no longer the single-instance one");
      });

      await t.step("with fencing, the stalled owner's late write is refused", async () => {
        const o = await scenario(shared, `fence_${RUN}_on`, true);
        assert.equal(o.beforeLateWrite, expected.sha256, "B alone built the single-instance graph");
        // A's write reached Neo4j and was refused inside its transaction: its log says so.
        const refusals = o.a.logs.filter((l) => l.includes("not committed: "));
        assert.ok(refusals.length > 0, o.a.logs.join("\n"));
        assert.match(
          refusals[0],
          /^warn: batch of \d+ records not committed: .*another runner claimed "fence_\w+-group\/0" \(now epoch \d+\) since this one did: its write is refused$/,
        );
        assert.ok(o.stalledVersions > 0, "A's stalled write opened versions");
        assert.equal(o.landed, 0, "nothing of A's refused writes is in the graph");
        assert.equal(o.doubled, 0);
        assert.equal(o.committedByA, 0, "A committed none of its refused batches");
        assert.equal(o.after, expected.sha256, "the single-instance graph (ics checksum)");
        for (const s of STREAMS) {
          assert.deepEqual(o.metrics[s], { rows: perStream[s], keys: perStream[s] }, s);
        }
        assert.equal(o.lag, 0, "every offset committed");
        assert.ok(!o.b.logs.some((l) => l.includes("not committed: ")), "B was never fenced");
      });
    } finally {
      await deleteIterations(driver, IDS);
      await driver.close();
      await neo.close();
      await sql.end();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
