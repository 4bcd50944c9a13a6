/**
 * The SQLite graph store: the graph store contract (`tests/graph_store_contract.ts`), plus what is
 * SQLite's own: a file of an earlier version (observations in a table of their own) opens.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { graphStoreContract, history } from "../../tests/graph_store_contract.ts";
import { openSqliteGraph } from "./sqlite_graph.ts";
import { observationsOf } from "../graph/mod.ts";
import { versionRef } from "../graph/timeline.ts";

// One file per case would do as well; in memory is faster, and "versions outlive the store"
// needs the second store to see the first one's writes: a shared file.
const dir = await Deno.makeTempDir({ prefix: "ics-sqlite-graph-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let file = 0;
let current = "";
graphStoreContract(
  "sqlite",
  () => Promise.resolve(openSqliteGraph(current)),
  {
    test: (name, fn) =>
      Deno.test(name, async () => {
        current = join(dir, `graph-${++file}.db`);
        await fn();
      }),
  },
);

Deno.test("sqlite graph opens a graph.db of an earlier version and writes observations to it", async () => {
  const path = join(dir, "old.db");
  const old = new DatabaseSync(path);
  old.exec(`CREATE TABLE versions (
    version_id TEXT PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, iteration_id TEXT NOT NULL,
    label TEXT NOT NULL, key TEXT NOT NULL, from_id TEXT, to_id TEXT, props TEXT NOT NULL,
    valid_from INTEGER NOT NULL, valid_to INTEGER, observed_at INTEGER NOT NULL,
    superseded_at INTEGER) STRICT`);
  old.close();
  const store = openSqliteGraph(path);
  const [first] = history("old-");
  await store.write(first);
  const load = async () =>
    (await store.load(["old-it-1"])).versions.find((v) => v.label === "Task")!;
  // Only itself: stored without (storedObservations).
  assert.deepEqual(observationsOf(await load()), [
    { time: 1000, props: { status: "RUNNING", attempt: 1 } },
  ]);
  const two = [{ time: 1000, props: { status: "RUNNING" } }, { time: 1000, props: { attempt: 1 } }];
  await store.write({
    opened: [],
    closed: [],
    observed: [{ ...versionRef(await load()), observations: two }],
  });
  assert.deepEqual((await load()).observations, two);
  await store.close();
});
