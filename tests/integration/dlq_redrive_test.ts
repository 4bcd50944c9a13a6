/**
 * `ics dlq redrive` on the services target: dead letters on a Kafka topic (Confluent-framed Avro
 * that failed validation, and raw bytes that are no event at all) are re-injected after a
 * validation fix. The report says what recovered and what failed again; the recovered events are
 * in Neo4j and Postgres exactly as a run of the fixed spec puts them; the letter that failed again
 * is back on the topic with its redrive count; a redrive of one category leaves the others pending;
 * a second redrive doubles nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import { Redis } from "ioredis";
import { SERVICES, serviceTest } from "./_services.ts";
import { createTopics, readAll, withAdmin } from "./_kafka.ts";
import { deleteSubjects, icsOk, privateSpec } from "./_private.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { openGraph } from "../../src/cli/_common.ts";
import { checksum } from "../../src/graph/checksum.ts";

const name = `redrive_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const iteration = `it-${name}`;

function task(n: number, timestamp: number) {
  return JSON.stringify({
    event_id: `${iteration}-dde-${n}`,
    event_type: "TASK_STARTED",
    iteration_id: iteration,
    timestamp,
    producer: "dag_executor",
    workflow_id: `wf-${iteration}`,
    node_id: `task-${n}`,
    status: "RUNNING",
  });
}

serviceTest(
  "dlq redrive re-injects Kafka dead letters after a fix and reports what recovered",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    const p = await privateSpec(name);
    const now = Date.now();
    const day = 86_400_000;
    // Two good events, three stamped three days ahead (max_future_seconds is one day), one that is
    // not an event at all (sent as raw bytes by produce --raw).
    const events = join(p.dir, "events.jsonl");
    await Deno.writeTextFile(
      events,
      [
        task(1, now - 60_000),
        task(2, now - 30_000),
        task(3, now + 3 * day),
        task(4, now + 3 * day + 1),
        task(5, now + 3 * day + 2),
        "this is not an event",
      ].join("\n") + "\n",
    );
    await using _topics = await createTopics([...Object.values(p.streamTopics), p.dlqTopic], 3);
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    const redis = new Redis(SERVICES.redis);
    const spec = async () => (await loadSpec(p.spec)).spec!;
    const neo = await openGraph(await spec(), "services");
    const { services } = p;
    const redrive = async (...args: string[]) =>
      JSON.parse(await icsOk("dlq", "redrive", ...services, "--json", ...args));
    const rows = async () =>
      Number(
        (await sql.unsafe(`SELECT count(*)::int AS n FROM ${name}.dde_event_metrics`))[0].n,
      );
    try {
      await icsOk("produce", ...services, "--raw", events);
      const live = await icsOk("run", ...services, "--drain", "--metrics-port", "0");
      assert.match(live, /dead letters\s+4 \(decode_error 1, schema_violation 3\)/);
      const before = await readAll(p.dlqTopic);
      assert.equal(before.length, 4);
      assert.ok(before.every((m) => m.headers["ics.format"] === "avro_confluent"));
      assert.equal((await checksum(neo, { iterations: [iteration] })).nodes, 2);
      assert.equal(await rows(), 2);

      // Before the fix, a dry run predicts every letter fails again.
      const unfixed = await redrive("--dry-run");
      assert.deepEqual(unfixed.total, { redriven: 4, recovered: 0, failed: 4, duplicates: 0 });
      // Redriving one category moves only that category's cursor; the letter fails again.
      const garbage = await redrive("--category", "decode_error");
      assert.deepEqual(garbage.total, { redriven: 1, recovered: 0, failed: 1, duplicates: 0 });

      // The fix: events up to ten days ahead are plausible.
      const text = await Deno.readTextFile(p.spec);
      assert.ok(text.includes("max_future_seconds: 86400"));
      await Deno.writeTextFile(
        p.spec,
        text.replace("max_future_seconds: 86400", "max_future_seconds: 864000"),
      );
      assert.equal((await redrive("--dry-run")).total.recovered, 3);

      // Pending: the three schema violations, and the copy of the decode error appended by the
      // category redrive (the original lies behind its category's cursor).
      const report = await redrive();
      assert.deepEqual(report.categories, {
        decode_error: { redriven: 1, recovered: 0, failed: 1, duplicates: 0 },
        schema_violation: { redriven: 3, recovered: 3, failed: 0, duplicates: 0 },
      });
      assert.equal(report.failures.length, 1);
      assert.equal(report.failures[0].category, "decode_error");
      assert.match(report.failures[0].reason, /magic byte/);
      assert.match(report.failures[0].position, new RegExp(`^trimodal\\.events\\.dde\\.${name}/`));

      // The recovered events are in the graph and the metrics, as a run of the fixed spec puts them.
      const redriven = await checksum(neo, { iterations: [iteration] });
      assert.equal(redriven.nodes, 5);
      assert.equal(await rows(), 5);
      const local = join(p.dir, "local");
      await icsOk("run", "--spec", p.spec, "--state", local, "--input", events, "--quiet");
      const sqlite = await openGraph(await spec(), "local", local);
      assert.deepEqual(await checksum(sqlite, { iterations: [iteration] }), redriven);
      await sqlite.close();

      // The letter that failed again is back on the topic, with its redrive count and origin.
      const after = await readAll(p.dlqTopic);
      assert.equal(after.length, 6);
      assert.deepEqual(after.map((m) => m.headers["ics.redriven"]).filter(Boolean).sort(), [
        "1",
        "2",
      ]);
      const again = after.filter((m) => m.headers["ics.redriven"] === "2");
      assert.equal(again[0].headers["ics.category"], "decode_error");
      assert.equal(again[0].headers["ics.source.topic"], p.streamTopics.dde);
      assert.equal(new TextDecoder().decode(again[0].value), "this is not an event");

      // A second redrive: the recovered letters are marked redriven; only the one that failed
      // again is pending. Nothing is applied twice.
      const second = await redrive();
      assert.deepEqual(second.total, { redriven: 1, recovered: 0, failed: 1, duplicates: 0 });
      assert.deepEqual(await checksum(neo, { iterations: [iteration] }), redriven);
      assert.equal(await rows(), 5);
      assert.equal((await redrive("--category", "schema_violation")).total.redriven, 0);
    } finally {
      await neo.close();
      const driver = (await import("neo4j-driver")).default.driver(SERVICES.neo4j);
      await driver.executeQuery(
        "MATCH (n:Entity {iteration_id: $iteration}) OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
        {
          iteration,
        },
      ).catch(() => {});
      await driver.close();
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${name} CASCADE`).catch(() => {});
      await sql.end();
      const stale = await redis.keys(`${p.redisPrefix}*`);
      if (stale.length) await redis.del(...stale);
      redis.disconnect();
      const groups = [p.group, `${p.group}.redrive`];
      groups.push(...["decode_error", "schema_violation"].map((c) => `${p.group}.redrive.${c}`));
      await withAdmin((a) => a.deleteGroups(groups)).catch(() => {});
      await deleteSubjects(p);
      await Deno.remove(p.dir, { recursive: true });
    }
  },
);
