/**
 * Secrets against the real services. A run of the whole services path (Kafka + schema registry →
 * Redis → Neo4j + Postgres + dead-letter topic) authenticates with a planted secret: as the
 * password of an ACL user of a throwaway Redis (started here with `redis-server`, the one service
 * whose authentication we can switch on), in the registry URL, in a Neo4j password file and as
 * the Postgres password (both servers run without authentication and accept any). While it runs,
 * /metrics and /readyz are scraped; then the dead-letter topic is read. A wrong Redis password
 * and a SASL login to the (plaintext) broker must fail naming their service. No output of any of
 * it may show a secret.
 */
import { FORMAT_KEY } from "../../src/dedup/redis.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import postgresJs from "postgres";
import { Redis } from "ioredis";
import { SERVICES, serviceTest } from "./_services.ts";
import { createTopics, readAll, RUN } from "./_kafka.ts";
import { copy } from "../_copy.ts";

const root = new URL("../../", import.meta.url).pathname;
const SECRET = `s3cr3t-${crypto.randomUUID()}`;
const FILE_SECRET = `f1le-s3cr3t-${crypto.randomUUID()}`;
const id = `sec${RUN}`.replace(/[^a-z0-9]/g, "");
const iteration = `${id}-it-0001`;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A Redis that only an ACL user "ics" with password SECRET may use; killed on dispose. */
async function authRedis() {
  const port = freePort();
  const child = new Deno.Command("redis-server", {
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      ...["--user", "default", "off", "--user", "ics", "on", `>${SECRET}`, "~*", "&*", "+@all"],
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const client = new Redis({ port, host: "127.0.0.1", username: "ics", password: SECRET });
  client.on("error", () => {}); // until it listens
  for (let i = 0; i < 100 && client.status !== "ready"; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(client.status, "ready", "redis-server did not start");
  return {
    port,
    // Every key but the one that notes the dedup key format.
    keys: async () => (await client.dbsize()) - (await client.exists(`ics:dedup:${FORMAT_KEY}`)),
    async [Symbol.asyncDispose]() {
      client.disconnect();
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

const redisServer = await new Deno.Command("redis-server", { args: ["--version"] }).output()
  .then((o) => o.success, () => false);

/** `deno task <name>`'s deno flags (deno.json), so runs have exactly a user's permissions. */
async function taskFlags(name: string): Promise<string[]> {
  const words: string[] = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).tasks[name]
    .split(/\s+/);
  return words.slice(2, words.indexOf("src/cli/main.ts"));
}

function ics(dir: string, flags: string[], args: string[], piped = false) {
  return new Deno.Command(Deno.execPath(), {
    args: [...flags, "--config", join(root, "deno.json"), join(root, "src/cli/main.ts"), ...args],
    cwd: dir,
    env: { ICS_TEST_SECRET: SECRET, NO_COLOR: "1", ICS_DEBUG: "1", ICS_GROUP_ID: `g-${id}` },
    stdout: piped ? "piped" : undefined,
    stderr: piped ? "piped" : undefined,
    signal: AbortSignal.timeout(180_000),
  });
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const output = async (c: Deno.Command) => {
  const o = await c.output();
  return { code: o.code, out: text(o.stdout) + text(o.stderr) };
};

function assertNoSecret(value: string, what: string) {
  for (const secret of [SECRET, FILE_SECRET]) {
    for (const part of [secret, secret.slice(-12), encodeURIComponent(secret)]) {
      assert.ok(!value.includes(part), `${what} shows a secret:\n${value}`);
    }
  }
}

/** The sum of a metric's series in Prometheus text. */
const total = (metrics: string, name: string) =>
  [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)$`, "gm"))]
    .reduce((sum, m) => sum + Number(m[1]), 0);

const body = async (url: string) => {
  const r = await fetch(url).catch(() => undefined);
  return r ? { status: r.status, text: await r.text() } : undefined;
};

/** A project copy: the samples under unique iterations, unique topics, the targets below. */
async function project(redisPort: number, dlqTopic: string, pgSchema: string) {
  const dir = await Deno.makeTempDir({ prefix: "ics-secrets-services-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
  // One iteration (and the malformed lines) is enough, under an iteration id of its own.
  const samples = join(dir, "samples/events.jsonl");
  const lines = (await Deno.readTextFile(samples)).split("\n")
    .filter((l) => l.trim() && !/"it-000[23]"/.test(l));
  await Deno.writeTextFile(samples, lines.join("\n").replaceAll('"it-0001"', `"${iteration}"`));
  await Deno.mkdir(join(dir, "secrets"));
  await Deno.writeTextFile(join(dir, "secrets/neo4j"), `${FILE_SECRET}\n`);
  const registry = new URL(SERVICES.schema_registry);
  registry.username = "ics";
  registry.password = "${ICS_TEST_SECRET}";
  const file = join(dir, "pipeline.yaml");
  const spec = (await Deno.readTextFile(file))
    .replaceAll(/topic: (trimodal\.events\.\w+)/g, `topic: $1.${id}`).trimEnd() + `
  authed:
    source:
      type: kafka
      brokers: "${SERVICES.kafka}"
      schema_registry: "${decodeURI(registry.toString())}"
    dedup: { type: redis, url: "redis://ics:\${ICS_TEST_SECRET}@127.0.0.1:${redisPort}" }
    graph: { type: neo4j, uri: "${SERVICES.neo4j}", user: neo4j, password_file: secrets/neo4j }
    metrics:
      type: postgres
      url: "${SERVICES.postgres}"
      password: "\${ICS_TEST_SECRET}"
      schema: ${pgSchema}
    dlq: { type: kafka, brokers: "${SERVICES.kafka}", topic: ${dlqTopic}, transactional_id: tx-${id} }
  wrong_redis:
    source: { type: file, path: samples/events.jsonl }
    dedup: { type: redis, url: "redis://127.0.0.1:${redisPort}", username: ics, password_file: secrets/neo4j }
    graph: { type: sqlite }
    metrics: { type: sqlite }
    dlq: { type: file }
  sasl:
    source:
      type: kafka
      brokers: "${SERVICES.kafka}"
      sasl: { mechanism: plain, username: ics, password: "\${ICS_TEST_SECRET}" }
    dedup: { type: memory }
    graph: { type: sqlite }
    metrics: { type: sqlite }
    dlq: { type: file }
`;
  await Deno.writeTextFile(file, spec);
  assert.ok(!spec.includes(SECRET), "the secret is in the environment, not in the spec");
  return { dir, lines: lines.length };
}

function secretsTest(name: string, fn: () => Promise<void>) {
  if (redisServer) return serviceTest(name, ["kafka", "schema_registry", "neo4j", "postgres"], fn);
  // Without redis-server there is no Redis with authentication to test against.
  Deno.test({
    name,
    ignore: !Deno.env.get("CI"),
    fn: () => Promise.reject(new Error("redis-server is not installed")),
  });
}

secretsTest(
  "services with authentication: the secret reaches every client, and no output shows it",
  async () => {
    await using redis = await authRedis();
    const dlqTopic = `trimodal.events.dlq.${id}`;
    const pgSchema = `sec_${id}`;
    const { dir, lines } = await project(redis.port, dlqTopic, pgSchema);
    const topics = ["dde", "bdv", "acc"].map((s) => `trimodal.events.${s}.${id}`);
    await using _topics = await createTopics([...topics, dlqTopic]);
    const driver = neo4j.driver(SERVICES.neo4j);
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    try {
      const [runFlags, icsFlags] = [await taskFlags("run"), await taskFlags("ics")];
      const produced = await output(
        ics(dir, icsFlags, ["produce", "--target", "authed", "--raw"], true),
      );
      assert.equal(produced.code, 0, produced.out);

      // A long-running run (no --drain) serving /metrics; the failing runs meanwhile.
      const port = freePort();
      const child = ics(
        dir,
        runFlags,
        ["run", "--target", "authed", "--metrics-port", `${port}`],
        true,
      )
        .spawn();
      const failing = Promise.all([
        output(ics(dir, runFlags, ["run", "--target", "wrong_redis", "--state", ".ics/w"], true)),
        output(
          ics(dir, runFlags, [
            "run",
            "--target",
            "sasl",
            "--state",
            ".ics/s",
            "--metrics-port",
            "0",
          ], true),
        ),
      ]);
      let exited = false;
      const result = child.output().finally(() => exited = true); // read while it runs
      let metrics = "";
      let ready: { status: number; text: string } | undefined;
      try {
        // Until every line is processed, dead-lettered or dropped as a duplicate (a hung run
        // ends at the command's timeout).
        const counted = ["events_processed", "dlq_events", "dedup_dropped"].map((m) =>
          `ics_${m}_total`
        );
        while (!exited) {
          metrics = (await body(`http://127.0.0.1:${port}/metrics`))?.text ?? "";
          if (counted.reduce((n, m) => n + total(metrics, m), 0) >= lines) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        ready = await body(`http://127.0.0.1:${port}/readyz`);
      } finally {
        if (!exited) child.kill("SIGTERM");
      }
      const run = await result;
      const runOut = text(run.stdout) + text(run.stderr);
      assert.equal(run.code, 0, runOut);
      const processed = total(metrics, "ics_events_processed_total");
      const dead = total(metrics, "ics_dlq_events_total");
      assert.match(runOut, new RegExp(`processed +${processed}\n`));
      assert.equal(ready?.status, 200, ready?.text);
      assert.equal(JSON.parse(ready!.text).status, "ready");

      const [wrong, sasl] = await failing;
      assert.equal(wrong.code, 3, wrong.out);
      assert.match(
        wrong.out,
        /^ics run: failed: Redis at "redis:\/\/127\.0\.0\.1:\d+" refused the login: WRONGPASS/m,
      );
      assert.equal(sasl.code, 3, sasl.out);
      assert.match(sasl.out, /^ics run: failed: kafka source check: .*SASL/m);

      // The secrets reached the clients: Redis (which checks them) holds the keys, Neo4j the
      // graph and Postgres the metric rows.
      assert.equal(await redis.keys(), processed);
      const nodes = await driver.executeQuery(
        "MATCH (n:Entity {iteration_id: $iteration}) RETURN count(n) AS n",
        { iteration },
      );
      assert.ok(nodes.records[0].get("n") > 0);
      const [rows] = await sql.unsafe(
        `SELECT count(*)::int AS n FROM ${pgSchema}.dde_event_metrics`,
      );
      assert.ok(rows.n > 0);

      const letters = await readAll(dlqTopic);
      assert.ok(dead > 0);
      assert.equal(letters.length, dead);
      assertNoSecret(produced.out, "ics produce");
      assertNoSecret(runOut, "ics run");
      assertNoSecret(metrics, "/metrics");
      assertNoSecret(ready!.text, "/readyz");
      assertNoSecret(wrong.out, "the run with a wrong Redis password");
      assertNoSecret(sasl.out, "the SASL run");
      assertNoSecret(JSON.stringify(letters.map((l) => [l.key, text(l.value), l.headers])), "DLQ");
    } finally {
      await driver.executeQuery(
        "MATCH (n:Entity {iteration_id: $iteration}) OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
        {
          iteration,
        },
      );
      await driver.close();
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      await sql.end();
      for (const t of topics) {
        const subject = `${SERVICES.schema_registry}/subjects/${t}-value`;
        await fetch(subject, { method: "DELETE" }).then((r) => r.body?.cancel(), () => {});
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
);
