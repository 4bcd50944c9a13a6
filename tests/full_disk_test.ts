/**
 * A full disk, embedded target: a real small tmpfs holds one of the runner's files (the
 * dead-letter file, the graph database, the checkpoint). The run must stop with one clear line
 * naming the disk condition and the file (exit 3), with nothing acknowledged past what is stored;
 * after space is freed (the tmpfs remounted larger) a rerun must end with every event and every
 * dead letter exactly once: the graph of a clean run, one metric row per event, one letter per
 * poison line.
 *
 * Needs root (mount); outside CI a machine where mounting fails ignores these tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { corpus } from "../bench/corpus.ts";
import { copy } from "./_copy.ts";
import { loadSpec } from "../src/compiler/mod.ts";
import { stateChecksum } from "../src/cli/checksum.ts";
import { capture } from "../src/cli/_capture.ts";
import { main } from "../src/cli/main.ts";

const root = new URL("..", import.meta.url).pathname;
const BATCH = 50;

const mount = async (...args: string[]) => {
  const out = await new Deno.Command("mount", { args, stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`mount ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
};
const umount = (dir: string) => new Deno.Command("umount", { args: [dir] }).output();

/** Whether this machine lets the tests mount a tmpfs (root). */
const canMount = await (async () => {
  const dir = await Deno.makeTempDir();
  try {
    await mount("-t", "tmpfs", "-o", "size=4k", "tmpfs", dir);
    await umount(dir);
    return true;
  } catch {
    return false;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
})();

/** Two corpus iterations, and after every fifth event a poison line of 4 KB (truncated JSON). */
function input() {
  const lines: string[] = [], ids: (string | null)[] = [], iterations: (string | null)[] = [];
  let i = 0;
  for (const e of corpus({ iterations: 2, seed: 8_675_309 })) {
    lines.push(JSON.stringify(e)), ids.push(e.event_id as string);
    iterations.push(e.iteration_id as string);
    if (++i % 5 === 0) {
      lines.push(`{"event_id":"poison-${i}","pad":"${"x".repeat(4000)}`);
      ids.push(null), iterations.push(null);
    }
  }
  return { lines, ids, iterations, poison: ids.filter((id) => id === null).length };
}

const ics = (...args: string[]) => capture({ main }, ...args);

async function writeSpec(dir: string, name: string, paths: Record<string, string> = {}) {
  const file = join(dir, name);
  let text = await Deno.readTextFile(join(dir, "pipeline.yaml"));
  const local = "source: { type: file, path: samples/events.jsonl }";
  assert.ok(text.includes(local));
  text = text.replace(local, local.replace("}", `, batch_size: ${BATCH} }`));
  for (const [store, path] of Object.entries(paths)) {
    const line = `${store}: { type: ${store === "dlq" ? "file" : "sqlite"}, path: ${
      store === "dlq" ? "dlq.jsonl" : `${store}.db`
    } }`;
    assert.ok(text.includes(line), line);
    text = text.replace(line, line.replace(/path: [^ ]+/, `path: ${path}`));
  }
  await Deno.writeTextFile(file, text);
  return file;
}

/** The whole letters of a file (a kill may leave a partial last line, which the next run cuts). */
function readLetters(file: string): { line: number; payload: string }[] {
  let text = "";
  try {
    text = Deno.readTextFileSync(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return text.split("\n").slice(0, -1).map((l) => JSON.parse(l))
    .map((l) => ({ line: l.position.line, payload: l.payload }));
}

function metricRows(file: string): Record<string, number> {
  const db = new DatabaseSync(file);
  try {
    const rows = db.prepare("SELECT stream, count(*) AS n FROM event_metrics GROUP BY stream")
      .all();
    return Object.fromEntries(rows.map((r) => [r.stream, Number(r.n)]));
  } finally {
    db.close();
  }
}

function iterationsIn(file: string): Set<string> {
  const db = new DatabaseSync(file);
  try {
    return new Set(
      db.prepare("SELECT DISTINCT iteration_id AS id FROM versions").all().map((r) => `${r.id}`),
    );
  } finally {
    db.close();
  }
}

/** Which file the tmpfs holds: the run's stores live in `state` unless moved onto the disk. */
const cases = [
  { name: "the dead-letter file", store: "dlq", file: "dlq.jsonl", size: "128k" },
  { name: "the graph database", store: "graph", file: "graph.db", size: "256k" },
  { name: "the checkpoint", store: "state", file: "checkpoints.json", size: "4k" },
] as const;

for (const c of cases) {
  Deno.test({
    name: `a full disk under ${c.name} stops the run (exit 3, named), acknowledges nothing ` +
      `unstored, and a rerun with space stores every event and letter once`,
    ignore: !canMount && !Deno.env.get("CI"),
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "ics-full-disk-" });
      const disk = join(dir, "disk");
      await Deno.mkdir(disk);
      await mount("-t", "tmpfs", "-o", `size=${c.size}`, "tmpfs", disk);
      try {
        await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
        const data = input();
        const events = join(dir, "events.jsonl");
        await Deno.writeTextFile(events, data.lines.join("\n") + "\n");

        // The stores of the run under test: the one under test on the tmpfs, the rest on disk.
        const state = c.store === "state" ? disk : join(dir, "state");
        const stores = c.store === "state" ? join(dir, "stores") : state;
        const paths = {
          graph: c.store === "graph" ? join(disk, "graph.db") : join(stores, "graph.db"),
          metrics: join(stores, "metrics.db"),
          dlq: c.store === "dlq" ? join(disk, "dlq.jsonl") : join(stores, "dlq.jsonl"),
        };
        await Deno.mkdir(stores, { recursive: true });
        const spec = await writeSpec(dir, "full.yaml", paths);
        const run = ["run", "--spec", spec, "--input", events, "--state", state, "--quiet"];

        const full = await ics(...run);
        assert.equal(full.code, 3, full.stderr);
        const line = new RegExp(
          `^ics run: failed: disk full writing ${
            join(disk, c.file).replaceAll(".", "\\.")
          }: .*(No space left on device|database or disk is full)`,
        );
        assert.match(full.stderr, line);
        assert.equal(full.stderr.split("\n").length, 1, full.stderr);

        // Nothing acknowledged that is not stored: the checkpoint covers only batches whose
        // events and letters are all there.
        let done = 0;
        try {
          done = JSON.parse(Deno.readTextFileSync(join(state, "checkpoints.json")))[events].done;
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) throw error;
        }
        assert.ok(done < data.lines.length, `the run stopped early (${done} done)`);
        const held = new Set(readLetters(paths.dlq).map((l) => l.line));
        const events_ = new Set<string>(), its = new Set<string>();
        for (let i = 0; i < done; i++) {
          if (data.ids[i] === null) assert.ok(held.has(i + 1), `line ${i + 1} acked, no letter`);
          else events_.add(data.ids[i]!), its.add(data.iterations[i]!);
        }
        if (done > 0) {
          const rows = Object.values(metricRows(paths.metrics)).reduce((a, b) => a + b, 0);
          assert.ok(rows >= events_.size, `${rows} metric rows < ${events_.size} acked events`);
          const stored = iterationsIn(paths.graph);
          for (const it of its) assert.ok(stored.has(it), `${it} acked, not in the graph`);
        }

        // Space again: the rerun finishes, and holds what a clean run holds, each thing once.
        await mount("-o", "remount,size=64m", disk);
        const again = await ics(...run);
        assert.equal(again.code, 0, again.stderr);

        const clean = join(dir, "clean");
        const cleanSpec = await writeSpec(dir, "clean.yaml");
        const ok = await ics("run", "--spec", cleanSpec, "--input", events, "--state", clean);
        assert.equal(ok.code, 0, ok.stderr);
        const sum = async (s: string, st: string) =>
          stateChecksum((await loadSpec(s)).spec!, "local", st);
        assert.deepEqual(await sum(spec, state), await sum(cleanSpec, clean));
        assert.deepEqual(metricRows(paths.metrics), metricRows(join(clean, "metrics.db")));
        const letters = readLetters(paths.dlq);
        assert.ok(Deno.readTextFileSync(paths.dlq).endsWith("\n"));
        assert.equal(letters.length, data.poison);
        assert.deepEqual(letters, readLetters(join(clean, "dlq.jsonl")));
      } finally {
        await umount(disk);
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
