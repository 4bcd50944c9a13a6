/**
 * Disaster recovery on the services target: a generated corpus goes to Kafka in two waves and is
 * run live (Kafka → Redis → Neo4j + Postgres). The graph's checksum equals the embedded target's on
 * the same events. Then the graph and metrics are deleted and `ics replay` rebuilds them from the
 * log (that a graph still holding the iterations stops a replay: tests/replay_test.ts): from a time between the waves, exactly the second wave; from the earliest offset, the same
 * checksum and metric rows as the live run. The live consumer group's offsets and the live Redis
 * dedup keys are untouched (they would otherwise swallow the replay), and the replay's consumer
 * groups are gone afterwards.
 */
import { FORMAT_KEY } from "../../src/dedup/redis.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import neo4j from "neo4j-driver";
import { Redis } from "ioredis";
import { SERVICES, serviceTest } from "./_services.ts";
import { committed, createTopics, withAdmin } from "./_kafka.ts";
import { deleteSubjects, icsOk, privateSpec } from "./_private.ts";
import { corpus, toJsonl } from "../../bench/corpus.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { openGraph } from "../../src/cli/_common.ts";
import { checksum as graphChecksum } from "../../src/graph/checksum.ts";

const name = `replay_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const seed = 100_000 + Math.floor(Math.random() * 900_000);
const prefix = `it-${seed}-`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

serviceTest(
  "replay rebuilds Neo4j and Postgres from Kafka: same checksum as the live run and the embedded target",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    const p = await privateSpec(name);
    const events = [...corpus({ iterations: 8, seed })];
    const ids = [...new Set(events.map((e) => String(e.iteration_id)))];
    assert.equal(ids.length, 8);
    const [wave1, wave2] = [ids.slice(0, 4), ids.slice(4)];
    const file = async (name: string, of: string[]) => {
      const path = join(p.dir, name);
      await Deno.writeTextFile(
        path,
        events.filter((e) => of.includes(String(e.iteration_id))).map(toJsonl).join(""),
      );
      return path;
    };
    const [first, second, all] = [
      await file("wave1.jsonl", wave1),
      await file("wave2.jsonl", wave2),
      await file("all.jsonl", ids),
    ];

    const driver = neo4j.driver(SERVICES.neo4j);
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    const redis = new Redis(SERVICES.redis);
    const topics = [...Object.values(p.streamTopics), p.dlqTopic];
    await using _topics = await createTopics(topics, 3);
    const spec = (await loadSpec(p.spec)).spec!;
    const neo = await openGraph(spec, "services");
    try {
      const { services } = p;
      // What `ics checksum` prints, in process where a command start would only cost time.
      const checksum = (options: { iterations?: string[]; prefix?: string }) =>
        graphChecksum(neo, options);
      const wipe = async () => {
        await driver.executeQuery(
          "MATCH (n:Entity) WHERE n.iteration_id STARTS WITH $prefix OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
          { prefix },
        );
        for (const t of ["dde", "bdv", "acc"]) {
          await sql.unsafe(`DELETE FROM ${name}.${t}_event_metrics`);
        }
        await sql.unsafe(`DELETE FROM ${name}.e2e_latency_metrics`);
      };
      /** Metric rows per iteration, and the latency rows (one per event, every stream). */
      const metricRows = async () => {
        const rows = await sql.unsafe(
          `SELECT iteration_id, count(*)::int AS n FROM (SELECT iteration_id FROM ${name}.dde_event_metrics
             UNION ALL SELECT iteration_id FROM ${name}.bdv_event_metrics
             UNION ALL SELECT iteration_id FROM ${name}.acc_event_metrics) x GROUP BY 1 ORDER BY 1`,
        );
        const [e2e] = await sql.unsafe(
          `SELECT count(*)::int AS n FROM ${name}.e2e_latency_metrics`,
        );
        return {
          perIteration: Object.fromEntries(rows.map((r) => [r.iteration_id, r.n])),
          e2e: e2e.n,
        };
      };
      const dedupKeys = async () => {
        let n = 0;
        for await (const keys of redis.scanStream({ match: `${p.redisPrefix}*`, count: 1000 })) {
          n += keys.filter((k: string) => k !== `${p.redisPrefix}${FORMAT_KEY}`).length;
        }
        return n;
      };

      // Two waves, a moment apart: the log's record times tell them apart.
      await icsOk("produce", ...services, first);
      await sleep(300);
      const between = new Date().toISOString();
      await sleep(300);
      await icsOk("produce", ...services, second);

      const live = await icsOk(
        "run",
        ...services,
        "--drain",
        "--metrics-port",
        "0",
        "--state",
        join(p.dir, "live"),
      );
      assert.match(live, new RegExp(`events read\\s+${events.length} `));
      const processed = live.match(/processed\s+(\d+)/)![1];
      const liveAll = JSON.parse(
        await icsOk("checksum", ...services, "--prefix", prefix, "--json"),
      );
      assert.deepEqual(await checksum({ prefix }), liveAll);
      const liveWave2 = await checksum({ iterations: wave2 });
      assert.equal(liveAll.iterations, 8);
      assert.ok(liveAll.links > 100, `links: ${liveAll.links}`);
      const liveRows = await metricRows();
      assert.equal(Object.keys(liveRows.perIteration).length, 8);
      const liveOffsets = await committed(p.group, Object.values(p.streamTopics));
      const keys = await dedupKeys();
      assert.equal(String(keys), processed, "one Redis dedup key per processed event");

      // The embedded target on the same events (a JSON Lines file): the same graph.
      const local = join(p.dir, "local");
      await icsOk("run", "--spec", p.spec, "--state", local, "--input", all, "--quiet");
      const sqlite = await openGraph(spec, "local", local);
      assert.deepEqual(await graphChecksum(sqlite, { prefix }), liveAll);
      await sqlite.close();

      // Disaster: graph and metrics gone. Replay from between the waves: the second wave only.
      await wipe();
      const state = join(p.dir, "replay");
      const fromBetween = await icsOk("replay", ...services, "--from", between, "--state", state);
      assert.match(fromBetween, new RegExp(`consumer group ${p.group}\\.replay-\\S+, deleted`));
      assert.deepEqual(await checksum({ iterations: wave2 }), liveWave2);
      assert.equal((await checksum({ iterations: wave1 })).nodes, 0);
      const wave2Rows = await metricRows();
      assert.deepEqual(
        wave2Rows.perIteration,
        Object.fromEntries(wave2.map((i) => [i, liveRows.perIteration[i]])),
      );

      // Replay everything: the live run's graph and metric rows, exactly.
      await wipe();
      const replay = await icsOk("replay", ...services, "--from", "earliest", "--state", state);
      assert.match(replay, new RegExp(`events read\\s+${events.length} `));
      assert.match(replay, new RegExp(`processed\\s+${processed}\\n`));
      assert.deepEqual(await checksum({ prefix }), liveAll);
      assert.deepEqual(await metricRows(), liveRows);

      // The live runner's position and dedup keys are as they were; no replay group is left.
      assert.deepEqual(await committed(p.group, Object.values(p.streamTopics)), liveOffsets);
      assert.equal(await dedupKeys(), keys);
      const groups = await withAdmin((a) => a.listGroups());
      assert.deepEqual(groups.groups.filter((g) => g.groupId.startsWith(`${p.group}.`)), []);
    } finally {
      await neo.close();
      await driver.executeQuery(
        "MATCH (n:Entity) WHERE n.iteration_id STARTS WITH $prefix OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
        { prefix },
      ).catch(() => {});
      await driver.close();
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => {});
      await sql.end();
      const stale = await redis.keys(`${p.redisPrefix}*`);
      if (stale.length) await redis.del(...stale);
      redis.disconnect();
      await withAdmin((a) => a.deleteGroups([p.group])).catch(() => {});
      await deleteSubjects(p);
      await Deno.remove(p.dir, { recursive: true });
    }
  },
);
