/**
 * `ics replay` on the embedded target (file source): the graph and metrics rebuilt from the file
 * into empty stores equal the original run's; a non-empty graph stops the replay unless --merge;
 * a file has no record times to start from. (Kafka: tests/integration/replay_test.ts.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { loadSpec } from "../src/compiler/mod.ts";
import { stateChecksum } from "../src/cli/checksum.ts";
import { capture } from "../src/cli/_capture.ts";
import { main } from "../src/cli/main.ts";

const root = new URL("..", import.meta.url).pathname;

/** `ics ...` in process, as src/cli/main.ts runs it (a command start costs a second or two). */
const ics = (...args: string[]) =>
  capture({ main }, ...args, "--spec", join(root, "pipeline.yaml"));

const spec = (await loadSpec(join(root, "pipeline.yaml"))).spec!;

/** What `ics checksum --state` prints. */
const checksum = (state: string) => stateChecksum(spec, "local", state);

const metricRows = (state: string) => {
  const db = new DatabaseSync(join(state, "metrics.db"));
  try {
    return db.prepare("SELECT stream, count(*) AS n FROM event_metrics GROUP BY stream ORDER BY 1")
      .all();
  } finally {
    db.close();
  }
};

Deno.test("replay rebuilds the embedded graph and metrics from the file into empty stores", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-replay-" });
  assert.equal((await ics("run", "--state", state, "--quiet")).code, 0);
  const before = await checksum(state);
  const rows = metricRows(state);
  assert.equal(before.links, 65);

  // The graph holds these iterations: a replay would not be a rebuild, so it stops.
  const refused = await ics("replay", "--from", "earliest", "--state", state);
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /"it-0001", "it-0002", "it-0003" are already in the graph/);
  assert.match(refused.stderr, /--merge/);
  assert.deepEqual(await checksum(state), before);

  // Lost stores: the replay reads the file again from its start (the checkpoint says "done").
  await Deno.remove(join(state, "graph.db"));
  await Deno.remove(join(state, "metrics.db"));
  const replay = await ics("replay", "--from", "earliest", "--state", state);
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, /events read\s+351 /);
  assert.match(replay.stdout, /duplicates\s+10 dropped/);
  assert.match(replay.stdout, /replay\s+replay-\d{8}T\d{6}Z-[0-9a-f]{8}/);
  assert.deepEqual(await checksum(state), before);
  assert.deepEqual(metricRows(state), rows);
  // Its dead letters go to a file of its own; the target's queue is not written twice.
  const letters = (name: string) =>
    Deno.readTextFileSync(join(state, name)).trim().split("\n").length;
  const own = [...Deno.readDirSync(state)].map((e) => e.name).filter((n) =>
    /^replay-.*\.dlq\.jsonl$/.test(n)
  );
  assert.equal(own.length, 1);
  assert.equal(letters(own[0]), 6);
  assert.equal(letters("dlq.jsonl"), 6);

  // --merge folds the file into the stored iterations: nothing changes.
  const merged = await ics("replay", "--from", "earliest", "--merge", "--state", state);
  assert.equal(merged.code, 0, merged.stderr);
  assert.match(merged.stdout, /entities\s+0 node versions, 0 relationship versions/);
  assert.deepEqual(await checksum(state), before);

  const timed = await ics("replay", "--from", "2025-03-03T09:00:00Z", "--state", state);
  assert.equal(timed.code, 2);
  assert.match(timed.stderr, /needs a Kafka source/);
  const missing = await ics("replay", "--state", state);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--from is required/);
  await Deno.remove(state, { recursive: true });
});
