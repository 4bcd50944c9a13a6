/**
 * The graph store contract: one suite that every graph store passes (SQLite in
 * `src/sinks/sqlite_graph_test.ts`, Neo4j in `tests/integration/neo4j_graph_test.ts`), as
 * Redpanda Connect runs one suite against every plugin.
 *
 * Each case writes batches shaped as the graph model makes them (version ids `${id}@${valid_from}
 * @${observed_at}`, relationship and link ids from `relationshipId()`/`linkId()`, props without
 * nulls, property names the spec compiler admits) and checks the store's answers against the
 * contract's own semantics, computed here from the same batches: the first open and the first
 * close of a version win, `observed` replaces a version's observations, `query()` filters on both
 * time axes (valid_from and observed_at inclusive, valid_to and superseded_at exclusive) and
 * orders by kind, label, key text, valid_from, observed_at, version_id (code point order), and
 * `load()` gives the believed versions of the asked iterations. Iterations are named under a
 * prefix per case, so a store shared with other data (a Neo4j server) answers for the case alone.
 */
import assert from "node:assert/strict";
import type { GraphStore, VersionQuery } from "../src/core/component.ts";
import type { GraphChanges, Observation, Version } from "../src/core/types.ts";
import {
  entityId,
  linkId,
  observationsOf,
  relationshipId,
  storedObservations,
} from "../src/graph/mod.ts";
import { sortVersions } from "../src/sinks/neo4j_graph/_order.ts";
import { checkReads, readFixture } from "./graph_store_reads.ts";

export interface ContractOptions {
  /** How a case is registered (a plain Deno.test, or a test that needs a service). */
  test: (name: string, fn: () => Promise<void>) => void;
  /** Remove what a case wrote under its prefix (before and after it). */
  cleanup?: (prefix: string) => Promise<void>;
}

/** Register the contract's cases for a store; `open()` gives a store to write to. */
export function graphStoreContract(
  store: string,
  open: () => Promise<GraphStore>,
  options: ContractOptions,
): void {
  const run = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  let n = 0;
  const contract = (name: string, fn: (s: GraphStore, prefix: string) => Promise<void>) =>
    options.test(`${store} graph store: ${name}`, async () => {
      const prefix = `${run}-${++n}-`;
      await options.cleanup?.(prefix);
      const s = await open();
      try {
        await fn(s, prefix);
      } finally {
        await s.close();
        await options.cleanup?.(prefix);
      }
    });

  contract("write() and query() round-trip every field of every kind", async (s, prefix) => {
    const batches = history(prefix);
    await s.write(batches[0]);
    assert.deepEqual(
      mine(prefix, await s.query({ history: true })),
      sortVersions(batches[0].opened.map(shown)),
    );
  });

  contract("query() answers as the contract says, on both time axes", async (s, prefix) => {
    const it1 = `${prefix}it-1`, it2 = `${prefix}it-2`;
    const task = entityId("Task", it1, ["build"]);
    const scenario = entityId("Scenario", it1, ["login works"]);
    const reference = createReference();
    const times = [0, 9_999, 10_000, 15_000, 20_000, 25_000, 30_000, 30_500, 40_000, 50_000];
    const valid = [499, 500, 999, 1000, 1499, 1500, 1999, 2000, 3002, 4000, 99_999];
    const queries: VersionQuery[] = [
      {},
      { history: true },
      ...(["node", "relationship", "link"] as const).flatMap((kind) => [
        { kind },
        { kind, history: true },
      ]),
      { iteration_id: it1 },
      { iteration_id: it2, history: true },
      { iteration_id: `${prefix}none` },
      { ids: [task, scenario] },
      { ids: [task], history: true },
      { ids: [linkId(it1, scenario, task)], history: true },
      { ids: [] },
      ...times.map((known_at) => ({ known_at })),
      ...valid.map((valid_at) => ({ valid_at })),
      ...times.flatMap((known_at) =>
        valid.map((valid_at) => ({ iteration_id: it1, known_at, valid_at }))
      ),
      { valid_at: 1500, history: true },
      { known_at: 30_000, kind: "link" },
    ];
    for (const batch of history(prefix)) {
      await s.write(batch);
      reference.write(batch);
      // Between batches too: "now" of each intermediate state.
      for (const q of [{}, { history: true }]) {
        assert.deepEqual(mine(prefix, await s.query(q)), reference.query(q), JSON.stringify(q));
      }
    }
    for (const q of queries) {
      assert.deepEqual(mine(prefix, await s.query(q)), reference.query(q), JSON.stringify(q));
    }
    // The history is the one intended: superseded versions, a retracted link.
    const all = mine(prefix, await s.query({ history: true }));
    assert.equal(all.length, 17);
    assert.equal(all.filter((v) => v.superseded_at !== null).length, 5);
    assert.deepEqual(mine(prefix, await s.query({ kind: "link" })), []);
  });

  contract("load() gives the believed versions of the asked iterations", async (s, prefix) => {
    const reference = createReference();
    for (const batch of history(prefix)) {
      await s.write(batch);
      reference.write(batch);
    }
    const it1 = `${prefix}it-1`, it2 = `${prefix}it-2`;
    for (const its of [[it1], [it1, it2], [], [`${prefix}none`]]) {
      const { versions } = await s.load(its);
      assert.deepEqual(sortVersions(versions).map(meant), reference.load(its), `load ${its}`);
    }
    // Node versions carry the observations they were folded from, as last written.
    const task = entityId("Task", it1, ["build"]);
    const believed = (await s.load([it1])).versions.filter((v) => v.id === task)
      .sort((a, b) => a.valid_from - b.valid_from);
    assert.deepEqual(
      believed.map((v) => observationsOf(v).map((o) => o.time)),
      [[500], [1000], [2000, 2500]],
    );
  });

  contract("write() of the same batches again changes nothing", async (s, prefix) => {
    const batches = history(prefix);
    for (const b of batches) await s.write(b);
    const before = mine(prefix, await s.query({ history: true }));
    const its = [`${prefix}it-1`, `${prefix}it-2`];
    const loaded = sortVersions((await s.load(its)).versions);
    for (const b of batches) await s.write(b); // at-least-once: everything is redelivered
    await s.write(batches[2]);
    assert.deepEqual(mine(prefix, await s.query({ history: true })), before);
    assert.deepEqual(sortVersions((await s.load(its)).versions), loaded);
  });

  contract(
    "the first close of a version wins; a redelivered open is ignored",
    async (s, prefix) => {
      const [first] = history(prefix);
      const v = first.opened[0];
      await s.write(first);
      const close = (at: number): GraphChanges => ({
        opened: [],
        closed: [{ ...ref(v), at }],
      });
      await s.write(close(20_000));
      await s.write(close(30_000));
      await s.write(first);
      const [got] = mine(prefix, await s.query({ ids: [v.id], history: true }));
      assert.equal(got.superseded_at, 20_000);
    },
  );

  contract("a batch with a bad row writes nothing of that batch", async (s, prefix) => {
    const [first, second] = history(prefix);
    await s.write(first);
    const before = mine(prefix, await s.query({ history: true }));
    const bad = { ...second.opened[0], valid_from: "soon" as unknown as number };
    await assert.rejects(s.write({ ...second, opened: [...second.opened, bad] }));
    assert.deepEqual(mine(prefix, await s.query({ history: true })), before);
    await s.write(second); // still usable
    assert.ok(mine(prefix, await s.query({ history: true })).length > before.length);
  });

  contract("keys and values are stored verbatim, whatever they hold", async (s, prefix) => {
    const it = `${prefix}it'"\\`;
    const hostile = [
      `'}) MATCH (n) DETACH DELETE n //`,
      `"}) DETACH DELETE n RETURN 1 //`,
      `a\\'b\\\\"c`,
      "../../etc/passwd",
      "`backtick` $param {x: 1}",
      "line\nbreak\u0000nul",
      "\u{1F600}\uFF5Eé",
    ];
    const versions = hostile.map((k) =>
      node(entityId("Task", it, [k, k]), "Task", [k, k], it)({
        valid_from: 1,
        observed_at: 2,
        props: { name: k, tags: [k, "x"] },
        observations: [{ time: 1, props: { name: k } }],
      })
    );
    await s.write({ opened: versions, closed: [] });
    assert.deepEqual(await s.query({ iteration_id: it }), sortVersions(versions.map(shown)));
    assert.deepEqual(
      (await s.load([it])).versions.map((v) => v.observations?.[0].props.name).sort(),
      [...hostile].sort(),
    );
  });

  contract(
    "the read side answers as the contract says, at every time point, in pages",
    async (s, prefix) => {
      const reference = createReference();
      for (const batch of [...history(prefix), ...readFixture(prefix)]) {
        await s.write(batch);
        reference.write(batch);
      }
      await checkReads(s, prefix, reference.query({ history: true }));
    },
  );

  contract("versions outlive the store that wrote them", async (s, prefix) => {
    const [first] = history(prefix);
    await s.write(first);
    const again = await open();
    try {
      assert.deepEqual(
        mine(prefix, await again.query({ history: true })),
        mine(prefix, await s.query({ history: true })),
      );
    } finally {
      await again.close();
    }
  });
}

/** Only this case's rows: a shared store may hold other cases' data. */
function mine(prefix: string, versions: Version[]): Version[] {
  return versions.filter((v) => v.iteration_id.startsWith(prefix)).map(meant);
}

/**
 * A version as a store gives it back: `from`/`to` are present on every kind, and a node version's
 * observations that are only the version itself may be left out (`storedObservations`): both
 * mean the same to the graph model (`observationsOf`), so both sides are compared without them.
 */
function shown(v: Version): Version {
  return meant({ ...v, from: v.from, to: v.to });
}

function meant(v: Version): Version {
  const { observations: _, ...rest } = v;
  const observations = storedObservations(v);
  return observations ? { ...rest, observations } : rest;
}

function ref(v: Version) {
  const { kind, version_id, id, label, from, to, valid_from, observed_at } = v;
  return { kind, version_id, id, label, from, to, valid_from, observed_at };
}

type Partial1 =
  & Partial<Version>
  & { valid_from: number; observed_at: number; props: Version["props"] };

/** A node version of an entity, its version id made as the graph model makes it. */
const node = (id: string, label: string, key: string[], it: string) => (v: Partial1): Version => ({
  kind: "node",
  id,
  version_id: `${id}@${v.valid_from}@${v.observed_at}`,
  iteration_id: it,
  label,
  key,
  valid_to: null,
  superseded_at: null,
  ...v,
});

const obs = (...o: [number, Record<string, unknown>][]): Observation[] =>
  o.map(([time, props]) => ({ time, props }));

/** A history over four batches (system time 10s..40s) with every kind of change. */
export function history(prefix: string): GraphChanges[] {
  const it1 = `${prefix}it-1`, it2 = `${prefix}it-2`;
  const task = entityId("Task", it1, ["build"]);
  const wf = entityId("Workflow", it1, ["wf-1"]);
  const scenario = entityId("Scenario", it1, ["login works"]);
  const other = entityId("Task", it2, ["test"]);
  const hasTask = relationshipId(it1, "HAS_TASK", wf, task);
  const link = linkId(it1, scenario, task);
  const t = node(task, "Task", ["build"], it1);
  const rel = (valid_from: number, observed_at: number): Version => ({
    kind: "relationship",
    id: hasTask,
    version_id: `${hasTask}@${valid_from}@${observed_at}`,
    iteration_id: it1,
    label: "HAS_TASK",
    key: [],
    from: wf,
    to: task,
    props: {},
    valid_from,
    valid_to: null,
    observed_at,
    superseded_at: null,
  });
  const lnk = (confidence: number, valid_from: number, observed_at: number): Version => ({
    kind: "link",
    id: link,
    version_id: `${link}@${valid_from}@${observed_at}`,
    iteration_id: it1,
    label: "CORRELATES",
    key: [],
    from: scenario,
    to: task,
    props: {
      confidence,
      rules: [{
        rule: "scenario-task-node-id",
        kind: "explicit_id",
        score: confidence,
        matched: { left: "build", right: ["build", { nested: true }] },
        detail: { similarity: 0.93 },
      }],
      policy: "sha256:abc",
    },
    valid_from,
    valid_to: null,
    observed_at,
    superseded_at: null,
  });
  const first = t({
    valid_from: 1000,
    observed_at: 10_000,
    props: { status: "RUNNING", attempt: 1 },
    observations: obs([1000, { status: "RUNNING", attempt: 1 }]),
  });
  const succeeded = t({
    valid_from: 2000,
    observed_at: 20_000,
    props: { status: "SUCCEEDED", attempt: 1.5, tags: ["a", "b"], flags: [true, 1] },
    observations: obs([2000, { status: "SUCCEEDED" }]),
  });
  return [
    {
      opened: [
        first,
        node(wf, "Workflow", ["wf-1"], it1)({
          valid_from: 900,
          observed_at: 10_000,
          props: { status: "RUNNING", weird_value: "ü\u{1F600}", empty: [], nested: { a: [1] } },
          observations: obs([900, { status: "RUNNING" }]),
        }),
        node(other, "Task", ["test"], it2)({
          valid_from: 1000,
          observed_at: 10_000,
          props: {},
          observations: obs([1000, {}]),
        }),
        rel(1000, 10_000),
      ],
      closed: [],
    },
    {
      opened: [
        t({
          valid_from: 1000,
          valid_to: 2000,
          observed_at: 20_000,
          props: { status: "RUNNING" },
          observations: obs([1000, { status: "RUNNING" }]),
        }),
        succeeded,
        node(scenario, "Scenario", ["login works"], it1)({
          valid_from: 1500,
          observed_at: 20_000,
          props: { scenario_name: "login works", nested: { a: [1, null] } },
          observations: obs([1500, { scenario_name: "login works" }]),
        }),
        lnk(0.7, 1500, 20_000),
      ],
      closed: [{ ...ref(first), at: 20_000 }],
    },
    {
      // A late event moves the task's start earlier; the relationship and link follow; the link
      // is rescored; an event that changes nothing joins the believed SUCCEEDED version. Keys
      // that sort differently in UTF-16 and in code points.
      opened: [
        t({
          valid_from: 500,
          valid_to: 1000,
          observed_at: 30_000,
          props: { status: "QUEUED" },
          observations: obs([500, { status: "QUEUED" }]),
        }),
        rel(500, 30_000),
        lnk(0.91, 1500, 30_000),
        ...["\u{1F600}", "\uFF5E", "é", "Z", "a'b\"c\\d"].map((k, i) =>
          node(entityId("Module", it2, [k]), "Module", [k], it2)({
            valid_from: 3000 + i,
            observed_at: 30_000,
            props: { module_name: k },
            observations: obs([3000 + i, { module_name: k }]),
          })
        ),
      ],
      closed: [
        { ...ref(rel(1000, 10_000)), at: 30_000 },
        { ...ref(lnk(0.7, 1500, 20_000)), at: 30_000 },
        { ...ref(lnk(0.7, 1500, 20_000)), at: 31_000 }, // the first close wins
      ],
      observed: [{
        ...ref(succeeded),
        observations: obs([2000, { status: "SUCCEEDED" }], [2500, { status: "SUCCEEDED" }]),
      }],
    },
    {
      // The link is retracted (closed, nothing opened); a version that arrives already closed.
      opened: [
        node(other, "Task", ["test"], it2)({
          valid_from: 4000,
          observed_at: 40_000,
          superseded_at: 40_000,
          props: { status: "GONE" },
        }),
      ],
      closed: [
        { ...ref(lnk(0.91, 1500, 30_000)), at: 40_000 },
        { ...ref(t({ valid_from: 7, observed_at: 7, props: {} })), at: 40_000 }, // never written
      ],
    },
  ];
}

/** The contract's semantics over the batches written so far. */
function createReference() {
  const versions = new Map<string, Version>();
  return {
    write(changes: GraphChanges) {
      for (const c of changes.closed) {
        const v = versions.get(c.version_id);
        if (v && v.superseded_at === null) {
          versions.set(c.version_id, { ...v, superseded_at: c.at });
        }
      }
      for (const o of changes.observed ?? []) {
        const v = versions.get(o.version_id);
        if (v) versions.set(o.version_id, shown({ ...v, observations: o.observations }));
      }
      for (const v of changes.opened) {
        if (!versions.has(v.version_id)) versions.set(v.version_id, shown(v));
      }
    },
    query(q: VersionQuery): Version[] {
      return sortVersions(
        [...versions.values()].filter((v) =>
          (q.iteration_id === undefined || v.iteration_id === q.iteration_id) &&
          (q.kind === undefined || v.kind === q.kind) &&
          (!q.ids?.length || q.ids.includes(v.id)) &&
          (q.known_at !== undefined
            ? v.observed_at <= q.known_at &&
              (v.superseded_at === null || v.superseded_at > q.known_at)
            : q.history || v.superseded_at === null) &&
          (q.valid_at === undefined ||
            (v.valid_from <= q.valid_at && (v.valid_to === null || v.valid_to > q.valid_at)))
        ),
      );
    },
    load(iterations: string[]): Version[] {
      return sortVersions(
        [...versions.values()].filter((v) =>
          iterations.includes(v.iteration_id) && v.superseded_at === null
        ),
      );
    },
  };
}
