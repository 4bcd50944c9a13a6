/**
 * Crash safety, embedded target: the runner is SIGKILLed at every fault point (mid-decode, inside
 * the graph transaction, after the sinks, after the dead letters, after the checkpoint) and at
 * random moments while it works through 50,000+ events, and restarted each time. After every kill
 * the stores must be intact (`PRAGMA integrity_check`, the checkpoint and dead-letter files parse)
 * and hold everything the checkpoint says was committed; at the end the graph must equal a clean
 * single run's (`ics checksum`), with one metric row per event and one dead letter per poison line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { mulberry32 } from "../bench/corpus.ts";
import { copy } from "./_copy.ts";
import {
  crashInput,
  crashLoop,
  freshSeed,
  killPlan,
  killsByStage,
  prefixOf,
  root,
} from "./_crash.ts";

const BATCH = 1000; // more batches, more distinct crash points per second of work

function ics(args: string[], env: Record<string, string> = {}) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${root}src/cli/main.ts`, ...args],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "piped",
  });
}

async function checksum(spec: string, state: string) {
  const out = await ics(["checksum", "--spec", spec, "--state", state, "--json"]).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** Open a copy of a database and its WAL (the original stays exactly as the kill left it). */
function openCopy(state: string, name: string, scratch: string): DatabaseSync {
  Deno.mkdirSync(scratch, { recursive: true });
  for (const suffix of ["", "-wal"]) {
    try {
      Deno.copyFileSync(join(state, name + suffix), join(scratch, name + suffix));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return new DatabaseSync(join(scratch, name));
}

Deno.test("crash safety (embedded): SIGKILLed runs resume to the clean run's graph", async () => {
  const seed = freshSeed();
  const input = crashInput(seed);
  assert.ok(input.lines.length >= 50_000, `${input.lines.length} events`);
  const dir = await Deno.makeTempDir({ prefix: "ics-crash-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
  const spec = join(dir, "pipeline.yaml");
  const text = await Deno.readTextFile(spec);
  const local = "source: { type: file, path: samples/events.jsonl }";
  assert.ok(text.includes(local));
  await Deno.writeTextFile(
    spec,
    text.replace(local, local.replace("}", `, batch_size: ${BATCH} }`)),
  );
  const events = join(dir, "events.jsonl");
  await Deno.writeTextFile(events, input.lines.join("\n") + "\n");

  const state = join(dir, "killed");
  const run = ["run", "--spec", spec, "--input", events, "--state", state, "--quiet"];
  const done = () => {
    try {
      return JSON.parse(Deno.readTextFileSync(join(state, "checkpoints.json")))[events].done;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
  };
  const dlqText = () => {
    try {
      return Deno.readTextFileSync(join(state, "dlq.jsonl"));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return "";
      throw error;
    }
  };
  let checks = 0;
  const afterKill = () => {
    // The checkpoint parses and ends a batch; every whole line of the dead letters parses (a
    // kill inside an append may leave a partial last line: the next start cuts it off).
    const committed = done();
    assert.ok(committed === input.lines.length || committed % BATCH === 0, `done ${committed}`);
    const dlq = dlqText();
    for (const line of dlq.split("\n").slice(0, -1)) JSON.parse(line);
    // Both databases are intact, and hold at least everything the checkpoint covers.
    const scratch = join(dir, `check-${++checks}`);
    const graph = openCopy(state, "graph.db", scratch);
    const metrics = openCopy(state, "metrics.db", scratch);
    try {
      for (const db of [graph, metrics]) {
        assert.equal(db.prepare("PRAGMA integrity_check").get()?.integrity_check, "ok");
      }
      const expected = prefixOf(input, committed);
      const rows = metrics.prepare("SELECT count(*) AS n FROM event_metrics").get()!.n as number;
      assert.ok(rows >= expected.events, `${rows} metric rows < ${expected.events} committed`);
      const stored = new Set(
        graph.prepare("SELECT DISTINCT iteration_id AS id FROM versions").all().map((r) => r.id),
      );
      for (const it of expected.iterations) assert.ok(stored.has(it), `${it} committed, absent`);
    } finally {
      graph.close();
      metrics.close();
    }
    Deno.removeSync(scratch, { recursive: true });
    return Promise.resolve();
  };

  const started = performance.now();
  const plan = killPlan(mulberry32(seed), {
    perPoint: 2,
    random: 4,
    maxN: 3,
    delay_ms: [100, 1500],
  });
  console.log(`seed ${seed}: ${input.lines.length} lines, ${plan.length} kills planned`);
  const attempts = await crashLoop({
    plan,
    spawn: (env) => ics(run, env).spawn(),
    progress: () => Promise.resolve(done()),
    total: input.lines.length,
    afterKill,
    timeout_ms: 120_000,
    log: console.log,
  });
  const killedMs = performance.now() - started;
  const kills = killsByStage(attempts);
  const total = Object.values(kills).reduce((a, b) => a + b, 0);
  console.log(
    `kills survived: ${total} ${JSON.stringify(kills)} in ${(killedMs / 1000).toFixed(1)} s`,
  );
  assert.ok(total >= 10, `only ${total} kills landed before the input ran out`);
  for (const stage of ["decode", "graph_tx", "sinks", "dlq", "ack", "random"]) {
    assert.ok(kills[stage] >= 1, `no kill at ${stage}`);
  }
  assert.equal(done(), input.lines.length);
  await afterKill();

  // The clean single run on the same input.
  const clean = join(dir, "clean");
  const out = await ics(["run", "--spec", spec, "--input", events, "--state", clean, "--quiet"])
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const [got, want] = [await checksum(spec, state), await checksum(spec, clean)];
  console.log(`checksum after kills ${got.sha256}, clean ${want.sha256}`);
  assert.equal(want.iterations, new Set(input.iterations.filter((x) => x !== null)).size);
  assert.ok(want.links > 10_000, `${want.links} links`);
  assert.deepEqual(got, want);

  // One metric row per distinct event, one dead letter per poison line: nothing lost or doubled.
  const metrics = new DatabaseSync(join(state, "metrics.db"));
  const rows = metrics.prepare("SELECT stream, count(*) AS n FROM event_metrics GROUP BY stream")
    .all();
  metrics.close();
  assert.deepEqual(Object.fromEntries(rows.map((r) => [r.stream, r.n])), input.perStream);
  const dlq = dlqText();
  assert.ok(dlq.endsWith("\n"), "dlq.jsonl ends with a whole line");
  const letters = dlq.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(letters.length, input.poison);
  assert.equal(new Set(letters.map((l) => l.position.line)).size, input.poison);
  await Deno.remove(dir, { recursive: true });
});
