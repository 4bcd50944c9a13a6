import assert from "node:assert/strict";
import { join } from "node:path";
import type { GraphChanges, Version } from "../core/types.ts";
import { openSqliteGraph } from "./sqlite_graph.ts";

function version(over: Partial<Version> & { version_id: string }): Version {
  return {
    kind: "node",
    id: "task-build",
    iteration_id: "it-1",
    label: "Task",
    key: ["build"],
    props: { status: "RUNNING" },
    valid_from: 1000,
    valid_to: null,
    observed_at: 10_000,
    superseded_at: null,
    ...over,
  };
}

const opened = (...versions: Version[]): GraphChanges => ({
  opened: versions,
  closed: [],
  observed: [],
});
const ids = (versions: Version[]) => versions.map((v) => v.version_id).sort();

/**
 * A small history. Task "build" of it-1: at system time 10s we learned it RUNNING from 1s on; at
 * 20s we learned it SUCCEEDED at 2s, so v1 was closed and v2, v3 opened. A link and an it-2 node too.
 */
async function seeded() {
  const store = openSqliteGraph(":memory:");
  const v1 = version({ version_id: "v1" });
  const v2 = version({ version_id: "v2", valid_to: 2000, observed_at: 20_000 });
  const v3 = version({
    version_id: "v3",
    props: { status: "SUCCEEDED" },
    valid_from: 2000,
    observed_at: 20_000,
  });
  const link = version({
    kind: "link",
    id: "link-1",
    version_id: "l1",
    label: "CORRELATES",
    key: [],
    from: "task-build",
    to: "scenario-1",
    props: { confidence: 1, rules: [], policy: "p" },
    valid_from: 1500,
    observed_at: 20_000,
  });
  const other = version({ version_id: "o1", iteration_id: "it-2", id: "task-other" });
  await store.write(opened(v1, other));
  await store.write({
    opened: [v2, v3, link],
    closed: [{ kind: "node", version_id: "v1", at: 20_000 }],
  });
  return store;
}

Deno.test("sqlite graph write() round-trips every field of a version", async () => {
  const store = openSqliteGraph(":memory:");
  const node = version({ version_id: "v1", props: { status: "RUNNING", attempt: 2, tags: ["a"] } });
  const rel = version({
    kind: "relationship",
    id: "rel-1",
    version_id: "r1",
    label: "HAS_TASK",
    key: [],
    from: "wf-1",
    to: "task-build",
    props: {},
  });
  await store.write(opened(node, rel));
  const rows = await store.query({ history: true });
  assert.deepEqual(rows, [
    { ...node, from: undefined, to: undefined },
    rel,
  ]);
  await store.close();
});

async function assertBatchRolledBack(bad: Version, error: RegExp) {
  const store = openSqliteGraph(":memory:");
  await store.write(opened(version({ version_id: "v1" })));
  const batch: GraphChanges = {
    opened: [version({ version_id: "v2", valid_to: 2000, observed_at: 20_000 }), bad],
    closed: [{ kind: "node", version_id: "v1", at: 20_000 }],
  };
  await assert.rejects(async () => await store.write(batch), error);
  // Neither the close nor the good row of the failed batch took effect.
  const history = await store.query({ history: true });
  assert.deepEqual(ids(history), ["v1"]);
  assert.equal(history[0].superseded_at, null);
  // The store is still usable after the rollback.
  await store.write(opened(version({ version_id: "v4", observed_at: 30_000 })));
  assert.deepEqual(ids(await store.query({ history: true })), ["v1", "v4"]);
  await store.close();
}

Deno.test("sqlite graph write() rolls back the whole batch when one row has a wrong type", async () => {
  await assertBatchRolledBack(
    version({ version_id: "v3", valid_from: "soon" as unknown as number, observed_at: 20_000 }),
    /cannot store TEXT value in INTEGER column/,
  );
});

Deno.test("sqlite graph write() rolls back the whole batch when one row lacks a NOT NULL column", async () => {
  await assertBatchRolledBack(
    version({ version_id: "v3", valid_from: null as unknown as number, observed_at: 20_000 }),
    /NOT NULL/,
  );
});

Deno.test("sqlite graph write() of the same versions twice adds nothing", async () => {
  const store = openSqliteGraph(":memory:");
  const batch = opened(version({ version_id: "v1" }), version({ version_id: "v2", id: "t2" }));
  await store.write(batch);
  await store.write(batch);
  assert.equal((await store.query({ history: true })).length, 2);
  await store.close();
});

Deno.test("sqlite graph write() keeps the first close and ignores a redelivered open", async () => {
  const store = openSqliteGraph(":memory:");
  const first = opened(version({ version_id: "v1" }));
  await store.write(first);
  await store.write({ opened: [], closed: [{ kind: "node", version_id: "v1", at: 20_000 }] });
  await store.write({ opened: [], closed: [{ kind: "node", version_id: "v1", at: 30_000 }] });
  await store.write(first); // at-least-once: the first batch arrives again
  const [v1] = await store.query({ history: true });
  assert.equal(v1.superseded_at, 20_000);
  assert.deepEqual(await store.query({}), []);
  await store.close();
});

Deno.test("sqlite graph load() returns only believed versions of the asked iterations", async () => {
  const store = await seeded();
  assert.deepEqual(ids((await store.load(["it-1"])).versions), ["l1", "v2", "v3"]);
  assert.deepEqual(ids((await store.load(["it-1", "it-2"])).versions), ["l1", "o1", "v2", "v3"]);
  assert.deepEqual((await store.load(["it-9"])).versions, []);
  assert.deepEqual((await store.load([])).versions, []);
  await store.close();
});

Deno.test("sqlite graph query() defaults to what is believed now", async () => {
  const store = await seeded();
  assert.deepEqual(ids(await store.query({ iteration_id: "it-1" })), ["l1", "v2", "v3"]);
  assert.deepEqual(ids(await store.query({ iteration_id: "it-1", history: true })), [
    "l1",
    "v1",
    "v2",
    "v3",
  ]);
  await store.close();
});

Deno.test("sqlite graph query() filters by kind and fact ids", async () => {
  const store = await seeded();
  assert.deepEqual(ids(await store.query({ kind: "link" })), ["l1"]);
  assert.deepEqual(ids(await store.query({ kind: "node" })), ["o1", "v2", "v3"]);
  assert.deepEqual(ids(await store.query({ ids: ["task-other", "link-1"] })), ["l1", "o1"]);
  assert.deepEqual(ids(await store.query({ ids: ["task-build"], history: true })), [
    "v1",
    "v2",
    "v3",
  ]);
  await store.close();
});

Deno.test("sqlite graph query() with known_at shows what was believed at that system time", async () => {
  const store = await seeded();
  const q = { iteration_id: "it-1", kind: "node" as const };
  assert.deepEqual(await store.query({ ...q, known_at: 9_999 }), []);
  assert.deepEqual(ids(await store.query({ ...q, known_at: 10_000 })), ["v1"]);
  assert.deepEqual(ids(await store.query({ ...q, known_at: 19_999 })), ["v1"]);
  // superseded_at is exclusive: at 20s the new belief has replaced the old one.
  assert.deepEqual(ids(await store.query({ ...q, known_at: 20_000 })), ["v2", "v3"]);
  await store.close();
});

Deno.test("sqlite graph query() answers on both time axes at once", async () => {
  const store = await seeded();
  const q = { iteration_id: "it-1", kind: "node" as const };
  const status = async (known_at: number | undefined, valid_at: number) =>
    (await store.query({ ...q, known_at, valid_at })).map((v) => v.props.status);
  // What did we know at 15s about 5s? Still running. What do we know now? It succeeded at 2s.
  assert.deepEqual(await status(15_000, 5000), ["RUNNING"]);
  assert.deepEqual(await status(undefined, 5000), ["SUCCEEDED"]);
  assert.deepEqual(await status(25_000, 1500), ["RUNNING"]);
  // valid_to is exclusive, valid_from inclusive.
  assert.deepEqual(await status(25_000, 2000), ["SUCCEEDED"]);
  assert.deepEqual(await status(25_000, 1999), ["RUNNING"]);
  assert.deepEqual(await status(25_000, 999), []);
  await store.close();
});

Deno.test("sqlite graph keeps its versions across a reopen of the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "graph.db");
    const first = openSqliteGraph(path);
    await first.write(opened(version({ version_id: "v1" })));
    await first.close();
    const second = openSqliteGraph(path);
    assert.deepEqual(ids((await second.load(["it-1"])).versions), ["v1"]);
    await second.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
