/**
 * The conformance corpus on the services target: a corpus generated from EVENTS.md (with planted
 * pairs, near misses, same-millisecond bursts, normalisation noise, Unicode, boundary values and
 * exact re-sends) is produced to Kafka as Avro (`ics produce`) and run with Redis dedup, the Neo4j
 * graph and Postgres metrics. Its `ics checksum` must equal the embedded target's on the same
 * lines, and so must what the two runs dropped and dead-lettered. A private spec (own topics, Redis
 * prefix, Postgres schema, consumer group) and an own iteration prefix keep it apart from the tests
 * sharing the services.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import postgresJs from "postgres";
import neo4j from "neo4j-driver";
import { Redis } from "ioredis";
import { SERVICES, serviceTest } from "./_services.ts";
import { createTopics, withAdmin } from "./_kafka.ts";
import { deleteSubjects, icsOk, privateSpec } from "./_private.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { corpusModel, createRunner, jsonl, observe, SMALL } from "../conformance/mod.ts";

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const name = `conformance_${run}`;
const prefix = `conf-${run}-`;
const SEED = Number(Deno.env.get("ICS_CONFORMANCE_SEED") ?? 20_251_010);

/** The summary lines two runs on the same events must share. */
const outcome = (summary: string) =>
  ["processed", "duplicates", "dead letters"].map((what) =>
    summary.match(new RegExp(`^\\s*${what}\\s+(.*)$`, "m"))?.[1]
  );

serviceTest(
  "conformance corpus: the services target gives the embedded target's checksum, drops and dead letters",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    const p = await privateSpec(name);
    const spec = (await loadSpec(p.spec)).spec!;
    const runner = createRunner(spec, { prefix });
    const sizes = { ...SMALL, iterations: 6, plants: 16, misses: 6, background: 40, resends: 10 };
    const [model] = fc.sample(corpusModel(sizes), { seed: SEED, numRuns: 1 });
    const corpus = runner.corpusOf(model);
    assert.ok(
      corpus.lines.length > 100 && corpus.resends.length > 0,
      `${corpus.lines.length} lines`,
    );
    const file = join(p.dir, "conformance.jsonl");
    await Deno.writeTextFile(file, jsonl(corpus));

    const driver = neo4j.driver(SERVICES.neo4j);
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    const redis = new Redis(SERVICES.redis);
    await using _topics = await createTopics([...Object.values(p.streamTopics), p.dlqTopic], 3);
    try {
      const produced = await icsOk("produce", ...p.services, file);
      assert.match(produced, new RegExp(`ics produce: ${corpus.lines.length} messages`), produced);
      const live = await icsOk(
        "run",
        ...p.services,
        "--drain",
        "--metrics-port",
        "0",
        "--state",
        join(p.dir, "live"),
      );
      assert.match(live, new RegExp(`events read\\s+${corpus.lines.length} `), live);
      const services = JSON.parse(
        await icsOk("checksum", ...p.services, "--prefix", prefix, "--json"),
      );

      const local = join(p.dir, "local");
      const embeddedRun = await icsOk("run", "--spec", p.spec, "--state", local, "--input", file);
      const embedded = JSON.parse(
        await icsOk("checksum", "--spec", p.spec, "--state", local, "--prefix", prefix, "--json"),
      );
      assert.ok(embedded.iterations === corpus.iterations.length && embedded.links > 0, embedded);
      assert.deepEqual(services, embedded);
      assert.deepEqual(outcome(live), outcome(embeddedRun));
      // The in-process run the properties use (its own batch size) holds the same graph too.
      assert.deepEqual((await observe(spec, corpus)).checksum, embedded);
    } finally {
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
