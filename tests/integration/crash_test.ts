/**
 * Crash safety, services target: 50,000+ events on private topics; `run --target services --drain`
 * is SIGKILLed at every fault point (mid-decode, inside the Neo4j transaction, after the sinks,
 * after the dead-letter transaction, after the offset commit) and at random moments, and
 * restarted until a run drains everything. The Neo4j graph must then equal the embedded target's
 * clean single run on the same events (`ics checksum`: SQLite and Neo4j of the same events hash
 * equal), with one Postgres metric row per event and one dead letter per poison line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import postgresJs from "postgres";
import { iterationId, mulberry32 } from "../../bench/corpus.ts";
import {
  deleteIterations,
  deleteRedisKeys,
  deleteSubjects,
  dropPgSchema,
  lag,
  privateSpec,
} from "../../bench/_services_setup.ts";
import { SERVICES, serviceTest } from "./_services.ts";
import { readAll, RUN, withAdmin } from "./_kafka.ts";
import { kafka } from "./_kafka.ts";
import { crashInput, crashLoop, freshSeed, killPlan, killsByStage, root } from "../_crash.ts";

function ics(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

async function ok(args: string[], env: Record<string, string> = {}): Promise<string> {
  const child = ics(args, env).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 300_000); // a hang fails, not blocks
  const out = await child.output();
  clearTimeout(timer);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${text(out.stderr)}\n${text(out.stdout)}`);
  return text(out.stdout);
}

serviceTest(
  "crash safety (services): SIGKILLed runs drain to the clean run's graph in Neo4j",
  ["kafka", "schema_registry", "redis", "neo4j", "postgres"],
  async () => {
    const seed = freshSeed();
    const input = crashInput(seed);
    const setup = await privateSpec(`crash${RUN}`);
    const spec = setup.specFile;
    // A killed member holds its partitions until its session times out: keep that short. Batches
    // of at most 2,000 records bound what a kill at the n-th batch lets through.
    const text = await Deno.readTextFile(spec);
    const group = `      group_id: "\${ICS_GROUP_ID:-ics}"\n`;
    assert.ok(text.includes(group));
    await Deno.writeTextFile(
      spec,
      text.replace(
        group,
        `${group}      session_timeout_ms: 6000\n      max_batch_records: 2000\n`,
      ),
    );
    const events = join(setup.dir, "events.jsonl");
    await Deno.writeTextFile(events, input.lines.join("\n") + "\n");
    const env = { ICS_GROUP_ID: setup.group };
    const services = ["--spec", spec, "--target", "services"];
    const topics = Object.values(setup.topics);
    const driver = neo4j.driver(SERVICES.neo4j);
    const admin = kafka.admin();
    try {
      await ok(["topics", ...services, "--partitions", "3"], env);
      await ok(["produce", ...services, "--raw", events], env);
      await admin.connect();
      const total = await lag(admin, setup.group, topics);
      assert.equal(total, input.lines.length);

      const started = performance.now();
      const plan = killPlan(mulberry32(seed), {
        perPoint: 2,
        random: 3,
        maxN: 2,
        delay_ms: [500, 4000],
      });
      console.log(`seed ${seed}: ${input.lines.length} records, ${plan.length} kills planned`);
      const state = join(setup.dir, "state");
      const attempts = await crashLoop({
        plan,
        spawn: (faults) =>
          ics(
            ["run", ...services, "--drain", "--state", state, "--quiet", "--metrics-port", "0"],
            { ...env, ...faults },
          ).spawn(),
        progress: async () => total - await lag(admin, setup.group, topics),
        total,
        timeout_ms: 180_000,
        log: console.log,
      });
      const kills = killsByStage(attempts);
      const count = Object.values(kills).reduce((a, b) => a + b, 0);
      console.log(
        `kills survived: ${count} ${JSON.stringify(kills)} in ${
          ((performance.now() - started) / 1000).toFixed(1)
        } s`,
      );
      assert.ok(count >= 10, `only ${count} kills landed before the input ran out`);
      for (const stage of ["decode", "graph_tx", "sinks", "dlq", "ack", "random"]) {
        assert.ok(kills[stage] >= 1, `no kill at ${stage}`);
      }
      assert.equal(await lag(admin, setup.group, topics), 0, "the last run drained everything");

      // The embedded clean single run on the same events is the reference (cheaper than Neo4j).
      const clean = join(setup.dir, "clean");
      await ok(["run", "--spec", spec, "--input", events, "--state", clean, "--quiet"]);
      const sum = async (args: string[], e: Record<string, string> = {}) =>
        JSON.parse(await ok(["checksum", ...args, "--prefix", input.prefix, "--json"], e));
      const want = await sum(["--spec", spec, "--state", clean]);
      const got = await sum(services, env);
      console.log(`checksum Neo4j after kills ${got.sha256}, embedded clean ${want.sha256}`);
      assert.equal(want.iterations, new Set(input.iterations.filter((x) => x !== null)).size);
      assert.ok(want.links > 10_000, `${want.links} links`);
      if (got.sha256 !== want.sha256) {
        // Neo4j is shared: say whether a foreign policy touched these links (another test's
        // `ics recorrelate` over every iteration), which no crash can do.
        const { records } = await driver.executeQuery(
          `MATCH ()-[r:CORRELATES]->() WHERE r.iteration_id STARTS WITH $prefix
           RETURN r.policy AS policy, r.superseded_at IS NULL AS believed, count(*) AS n`,
          { prefix: input.prefix },
        );
        console.log("Neo4j links by policy:", records.map((r) => r.toObject()));
      }
      assert.deepEqual(got, want);

      // One metric row per distinct event, one dead letter per poison line.
      const sql = postgresJs(SERVICES.postgres, { onnotice: () => {}, max: 1 });
      try {
        for (const stream of ["dde", "bdv", "acc"]) {
          const [{ n }] = await sql.unsafe(
            `SELECT count(*)::int AS n FROM ${setup.pgSchema}.${stream}_event_metrics`,
          );
          assert.equal(n, input.perStream[stream], `${stream} metric rows`);
        }
      } finally {
        await sql.end({ timeout: 1 });
      }
      const letters = await readAll(setup.dlqTopic);
      assert.equal(letters.length, input.poison);
      const at = letters.map((l) =>
        `${l.headers["ics.source.partition"]}@${l.headers["ics.source.offset"]}`
      );
      assert.equal(new Set(at).size, input.poison);
    } finally {
      await admin.disconnect();
      await withAdmin(async (a) => {
        await a.deleteTopics({ topics: [...topics, setup.dlqTopic] }).catch(() => {});
        await a.deleteGroups([setup.group]).catch(() => {});
      });
      await deleteSubjects(topics);
      await deleteRedisKeys(setup.redisPrefix);
      await dropPgSchema(setup.pgSchema);
      await deleteIterations(
        driver,
        Array.from({ length: 250 }, (_, i) => iterationId(seed, i + 1)),
      );
      await driver.close();
      await Deno.remove(setup.dir, { recursive: true });
    }
  },
);
