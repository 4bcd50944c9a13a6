/**
 * The services target end to end, as a user runs it: create the topics, produce the bundled
 * samples as Avro (with the malformed lines as poison), run with --drain, then check Neo4j against
 * the embedded target's graph, the metric rows in Postgres and the dead letters on their topic.
 * A second run with a new consumer group changes nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import neo4j from "neo4j-driver";
import { SERVICES, serviceTest } from "./_services.ts";
import { copy } from "../_copy.ts";
import { readAll } from "./_kafka.ts";

const root = new URL("../..", import.meta.url).pathname;
const run = Date.now().toString(36);

async function ics(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env,
    // A hung run must fail the test, not grow its buffered output without bound.
    signal: AbortSignal.timeout(180_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${text(out.stderr)}\n${text(out.stdout)}`);
  return text(out.stdout);
}

/** The links of the sample iterations (Neo4j may hold other tests' iterations too). */
const linkSet = (jsonl: string) =>
  jsonl.trim().split("\n").map((l) => JSON.parse(l)).filter((l) =>
    /^it-000[123]$/.test(l.from.iteration_id)
  ).map((l) =>
    JSON.stringify([l.from, l.to, l.confidence, l.rules.map((r: { rule: string }) => r.rule)])
  ).sort();

serviceTest(
  "services target: Kafka → Redis → Neo4j + Postgres + DLQ topic, equal to the embedded graph",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    // A private copy of the spec: its own topics, Redis prefix and Postgres schema.
    const dir = await Deno.makeTempDir({ prefix: "ics-services-" });
    await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
    const specFile = join(dir, "pipeline.yaml");
    const dlqTopic = `trimodal.events.dlq.${run}`;
    const pgSchema = `e2e_${run}`;
    let text = await Deno.readTextFile(specFile);
    text = text.replaceAll(/topic: (trimodal\.events\.\w+)/g, `topic: $1.${run}`)
      .replace(
        `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }`,
        `dedup: { type: redis, url: "\${REDIS_URL:-redis://127.0.0.1:6379}", key_prefix: "e2e:${run}:" }`,
      )
      .replace(
        `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}" }`,
        `metrics: { type: postgres, url: "\${POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}", schema: ${pgSchema} }`,
      )
      .replace(
        `      type: kafka\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
        `      type: kafka\n      topic: ${dlqTopic}\n      brokers: "\${KAFKA_BROKERS:-127.0.0.1:9092}"\n      transactional_id`,
      );
    await Deno.writeTextFile(specFile, text);
    assert.ok(text.includes(dlqTopic) && text.includes(pgSchema), "spec copy rewritten");

    // Neo4j is shared: start from no trace of the sample iterations.
    const driver = neo4j.driver(SERVICES.neo4j);
    const cleanNeo4j = () =>
      driver.executeQuery(
        "MATCH (n:Entity) WHERE n.iteration_id IN $ids OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
        { ids: ["it-0001", "it-0002", "it-0003"] },
      );
    await cleanNeo4j();

    const env = { ICS_GROUP_ID: `e2e-${run}` };
    const common = ["--spec", specFile, "--target", "services"];
    await ics(env, "topics", ...common, "--partitions", "3");
    await ics(env, "produce", ...common, "--raw", join(dir, "samples/events.jsonl"));
    const first = await ics(env, "run", ...common, "--drain", "--state", join(dir, "s1"));
    assert.match(first, /events read\s+351 /);
    assert.match(first, /duplicates\s+10 dropped/);

    // The same graph as the embedded target on the same events.
    const local = join(dir, "local");
    await ics({}, "run", "--spec", specFile, "--state", local, "--quiet");
    const expected = linkSet(await ics({}, "links", "--spec", specFile, "--state", local));
    const neo = await ics(env, "links", ...common);
    assert.equal(expected.length, 65);
    assert.deepEqual(linkSet(neo), expected);
    // Not just the links: every believed version, property and valid time (ics checksum).
    const sample = ["--iteration", "it-0001", "--iteration", "it-0002", "--iteration", "it-0003"];
    const checksum = async (env: Record<string, string>, ...args: string[]) =>
      JSON.parse(await ics(env, "checksum", ...args, ...sample, "--json"));
    const embedded = await checksum({}, "--spec", specFile, "--state", local);
    assert.deepEqual(await checksum(env, ...common), embedded);
    assert.equal(embedded.links, 65);

    // Metric rows in Postgres: one per processed event, per stream.
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    const count = async (table: string) =>
      Number((await sql.unsafe(`SELECT count(*) AS n FROM ${pgSchema}.${table}`))[0].n);
    const processed = { dde: 0, bdv: 0, acc: 0 };
    const localRows = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import {DatabaseSync} from "node:sqlite"; const db = new DatabaseSync("${
          join(local, "metrics.db")
        }"); console.log(JSON.stringify(db.prepare("select stream, count(*) n from event_metrics group by stream").all()))`,
      ],
    }).output();
    for (const r of JSON.parse(new TextDecoder().decode(localRows.stdout))) {
      processed[r.stream as keyof typeof processed] = r.n;
    }
    assert.equal(await count("dde_event_metrics"), processed.dde);
    assert.equal(await count("bdv_event_metrics"), processed.bdv);
    assert.equal(await count("acc_event_metrics"), processed.acc);
    assert.equal(await count("e2e_latency_metrics"), processed.dde + processed.bdv + processed.acc);
    assert.ok(await count("event_throughput_metrics") >= 1);

    // Dead letters on the topic, with their category and source position as headers.
    const letters = await readAll(dlqTopic);
    const categories = letters.map((m) => m.headers["ics.category"]).sort();
    assert.equal(letters.length, 6);
    assert.deepEqual([...new Set(categories)].sort(), ["decode_error", "mapping_error"]);
    for (const m of letters) assert.ok(m.headers["ics.source.topic"]?.endsWith(run));

    // A second run, new consumer group, same topics: nothing changes.
    const snapshot = async () => {
      const out: string[] = [];
      for (const it of ["it-0001", "it-0002", "it-0003"]) {
        out.push(await ics(env, "query", ...common, "--iteration", it, "--json"));
      }
      return out;
    };
    const before = await snapshot();
    const second = await ics(
      { ICS_GROUP_ID: `e2e-${run}-again` },
      "run",
      ...common,
      "--drain",
      "--state",
      join(dir, "s2"),
    );
    assert.match(second, /entities\s+0 node versions, 0 relationship versions/);
    assert.match(second, /links\s+0 link versions/);
    assert.deepEqual(await snapshot(), before);
    assert.deepEqual(linkSet(await ics(env, "links", ...common)), expected);

    // Re-correlation under a new policy gives the same links in Neo4j as in SQLite.
    const tags = join(dir, "rules/tags.yaml");
    await Deno.writeTextFile(
      tags,
      (await Deno.readTextFile(tags)).replace("confidence: 0.8", "confidence: 0.6"),
    );
    await Deno.remove(join(dir, "rules/heuristics.yaml"));
    // Only the sample iterations: the shared Neo4j may hold other tests' iterations.
    assert.match(await ics(env, "recorrelate", ...common, ...sample), /recorrelated 3 iteration/);
    assert.match(
      await ics({}, "recorrelate", "--spec", specFile, "--state", local),
      /recorrelated 3/,
    );
    const recorrelated = linkSet(await ics({}, "links", "--spec", specFile, "--state", local));
    const heuristicOnly = expected.filter((l) => l.endsWith(`["task-scenario-heuristic"]]`));
    assert.equal(heuristicOnly.length, 24);
    assert.equal(recorrelated.length, 65 - 24); // the heuristic-only links are closed
    assert.deepEqual(linkSet(await ics(env, "links", ...common)), recorrelated);
    assert.deepEqual(
      await checksum(env, ...common),
      await checksum({}, "--spec", specFile, "--state", local),
    );

    await sql.unsafe(`DROP SCHEMA ${pgSchema} CASCADE`);
    await sql.end();
    await cleanNeo4j();
    await driver.close();
    await Deno.remove(dir, { recursive: true });
  },
);
