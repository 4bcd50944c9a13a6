/**
 * The Neo4j graph store against a real server: it must answer exactly as the SQLite store does for
 * the same writes, through the store API and through the real runtime on the bundled samples.
 * Every test writes iterations under a prefix unique to this run and deletes only those.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import type { GraphStore, VersionQuery } from "../../src/core/component.ts";
import type { GraphChanges, Version } from "../../src/core/types.ts";
import { RetriableError } from "../../src/core/errors.ts";
import { openSqliteGraph } from "../../src/sinks/sqlite_graph.ts";
import { openNeo4jGraph, schema, sortVersions } from "../../src/sinks/neo4j_graph/mod.ts";
import { createGraphModel, entityId, linkId, relationshipId } from "../../src/graph/mod.ts";
import { loadSpec } from "../../src/spec/mod.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { SERVICES, serviceTest } from "./_services.ts";

const root = new URL("../..", import.meta.url).pathname;
const RUN = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const config = (over: Record<string, unknown> = {}) =>
  schema.parse({
    type: "neo4j",
    uri: SERVICES.neo4j,
    user: Deno.env.get("NEO4J_USER"),
    password: Deno.env.get("NEO4J_PASSWORD"),
    batch_size: 7, // small, so that every statement runs in several UNWIND chunks
    ...over,
  });

/** A bare driver, to look at the graph behind the store. */
function openDriver() {
  const c = config();
  return neo4j.driver(
    c.uri,
    c.user || c.password ? neo4j.auth.basic(c.user ?? "neo4j", c.password ?? "") : undefined,
  );
}

/** Delete what this run wrote under an iteration prefix (Community has one user database). */
async function cleanup(prefix: string) {
  const driver = openDriver();
  // CALL { } IN TRANSACTIONS needs an auto-commit transaction: session.run(), not executeQuery().
  const session = driver.session({ database: config().database });
  try {
    await session.run(
      `MATCH (e:Entity) WHERE e.iteration_id STARTS WITH $prefix
       CALL (e) { OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(e) DETACH DELETE v, e }
       IN TRANSACTIONS OF 1000 ROWS`,
      { prefix },
    );
  } finally {
    await session.close();
    await driver.close();
  }
}

/** A test on its own iteration prefix, cleaned before and after. */
function neo4jTest(name: string, fn: (prefix: string) => Promise<void>) {
  serviceTest(name, ["neo4j"], async () => {
    const prefix = `${RUN}-${name.replace(/\W+/g, "_").slice(0, 40)}-`;
    await cleanup(prefix);
    try {
      await fn(prefix);
    } finally {
      await cleanup(prefix);
    }
  });
}

/** Only this test's rows: the shared database may hold other tests' data. */
const mine = (prefix: string, versions: Version[]) =>
  versions.filter((v) => v.iteration_id.startsWith(prefix));

/**
 * SQLite's rows must already be in the store order (kind, label, key, valid_from, observed_at);
 * within equal sort keys its order is unspecified, so both sides are compared in the total order
 * (version_id last) that the Neo4j store returns.
 */
function canonical(rows: Version[]): Version[] {
  const sorted = sortVersions(rows);
  const primary = (v: Version) =>
    JSON.stringify([v.kind, v.label, JSON.stringify(v.key), v.valid_from, v.observed_at]);
  assert.deepEqual(rows.map(primary), sorted.map(primary), "SQLite rows are in store order");
  return sorted;
}

async function assertSameAnswers(
  prefix: string,
  sqlite: GraphStore,
  graph: GraphStore,
  queries: VersionQuery[],
) {
  for (const q of queries) {
    const expected = canonical(await sqlite.query(q));
    const actual = mine(prefix, await graph.query(q));
    assert.deepEqual(actual, expected, `query ${JSON.stringify(q)}`);
  }
}

async function assertSameLoad(sqlite: GraphStore, graph: GraphStore, iterations: string[]) {
  const a = await sqlite.load(iterations);
  const b = await graph.load(iterations);
  const byId = <T extends { iteration_id: string; id: string }>(xs: T[]) =>
    [...xs].sort((x, y) => `${x.iteration_id} ${x.id}`.localeCompare(`${y.iteration_id} ${y.id}`));
  // load() order is unspecified in both stores: compare as sets.
  assert.deepEqual(sortVersions(b.versions), sortVersions(a.versions), `load ${iterations}`);
  assert.deepEqual(byId(b.observed), byId(a.observed), `load ${iterations} observations`);
}

/** A history over four batches (system time 10s..40s) with every kind of change. */
function history(prefix: string): GraphChanges[] {
  const it1 = `${prefix}it-1`, it2 = `${prefix}it-2`;
  const task = entityId("Task", it1, ["build"]);
  const wf = entityId("Workflow", it1, ["wf-1"]);
  const scenario = entityId("Scenario", it1, ["login works"]);
  const other = entityId("Task", it2, ["test"]);
  const hasTask = relationshipId(it1, "HAS_TASK", wf, task);
  const link = linkId(it1, scenario, task);
  const node = (id: string, label: string, key: string[], it: string) =>
  (
    v: Partial<Version> & { valid_from: number; observed_at: number; props: Version["props"] },
  ): Version => ({
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
  const obs = (id: string, it: string, ...o: [number, Record<string, unknown>][]) => ({
    id,
    iteration_id: it,
    observations: o.map(([time, props]) => ({ time, props })),
  });
  return [
    {
      opened: [
        t({ valid_from: 1000, observed_at: 10_000, props: { status: "RUNNING", attempt: 1 } }),
        node(wf, "Workflow", ["wf-1"], it1)({
          valid_from: 900,
          observed_at: 10_000,
          props: { status: "RUNNING", duration_ms: null, "weird key": "ü\u{1F600}" },
        }),
        node(other, "Task", ["test"], it2)({ valid_from: 1000, observed_at: 10_000, props: {} }),
        rel(1000, 10_000),
      ],
      closed: [],
      observed: [
        obs(task, it1, [1000, { status: "RUNNING", attempt: 1 }]),
        obs(wf, it1, [900, { status: "RUNNING" }]),
      ],
    },
    {
      opened: [
        t({ valid_from: 1000, valid_to: 2000, observed_at: 20_000, props: { status: "RUNNING" } }),
        t({
          valid_from: 2000,
          observed_at: 20_000,
          props: { status: "SUCCEEDED", attempt: 1.5, tags: ["a", "b"], flags: [true, 1] },
        }),
        node(scenario, "Scenario", ["login works"], it1)({
          valid_from: 1500,
          observed_at: 20_000,
          props: { id: "shadowed system name", valid_from: "also", nested: { a: [1, null] } },
        }),
        lnk(0.7, 1500, 20_000),
      ],
      closed: [{ kind: "node", version_id: `${task}@1000@10000`, at: 20_000 }],
      observed: [
        obs(task, it1, [1000, { status: "RUNNING" }], [2000, { status: "SUCCEEDED" }]),
        obs(scenario, it1, [1500, { scenario_name: "login works" }]),
      ],
    },
    {
      // A late event moves the task's start earlier; the relationship and link follow; the link
      // is rescored. Keys that sort differently in UTF-16 and in code points.
      opened: [
        t({ valid_from: 500, valid_to: 1000, observed_at: 30_000, props: { status: "QUEUED" } }),
        rel(500, 30_000),
        lnk(0.91, 1500, 30_000),
        ...["\u{1F600}", "\uFF5E", "é", "Z", "a'b\"c\\d"].map((k, i) =>
          node(entityId("Module", it2, [k]), "Module", [k], it2)({
            valid_from: 3000 + i,
            observed_at: 30_000,
            props: { module_name: k },
          })
        ),
      ],
      closed: [
        { kind: "relationship", version_id: `${hasTask}@1000@10000`, at: 30_000 },
        { kind: "link", version_id: `${link}@1500@20000`, at: 30_000 },
        { kind: "link", version_id: `${link}@1500@20000`, at: 31_000 }, // the first close wins
      ],
      observed: [obs(task, it1, [500, { status: "QUEUED" }], [1000, { status: "RUNNING" }])],
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
        { kind: "link", version_id: `${link}@1500@30000`, at: 40_000 },
        { kind: "node", version_id: "never-written", at: 40_000 },
      ],
      observed: [],
    },
  ];
}

neo4jTest("neo4j graph answers every query exactly as the SQLite store", async (prefix) => {
  const sqlite = openSqliteGraph(":memory:");
  const graph = await openNeo4jGraph(config());
  try {
    const it1 = `${prefix}it-1`, it2 = `${prefix}it-2`;
    const task = entityId("Task", it1, ["build"]);
    const scenario = entityId("Scenario", it1, ["login works"]);
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
      await sqlite.write(batch);
      await graph.write(batch);
      // Between batches too: known_at of the future equals "now" of each intermediate state.
      await assertSameAnswers(prefix, sqlite, graph, [{}, { history: true }]);
    }
    await assertSameAnswers(prefix, sqlite, graph, queries);
    for (const its of [[it1], [it1, it2], [], [`${prefix}none`]]) {
      await assertSameLoad(sqlite, graph, its);
    }
    // Sanity: the history is the one intended (superseded versions, a retracted link).
    const all = mine(prefix, await graph.query({ history: true }));
    assert.equal(all.length, 17);
    assert.equal(all.filter((v) => v.superseded_at !== null).length, 5);
    assert.deepEqual(mine(prefix, await graph.query({ kind: "link" })), []);
  } finally {
    await graph.close();
    await sqlite.close();
  }
});

neo4jTest("neo4j graph write() of the same batches again changes nothing", async (prefix) => {
  const graph = await openNeo4jGraph(config());
  try {
    const batches = history(prefix);
    for (const b of batches) await graph.write(b);
    const before = mine(prefix, await graph.query({ history: true }));
    const loaded = await graph.load([`${prefix}it-1`, `${prefix}it-2`]);
    for (const b of batches) await graph.write(b); // at-least-once: everything is redelivered
    await graph.write(batches[2]);
    assert.deepEqual(mine(prefix, await graph.query({ history: true })), before);
    assert.deepEqual(await graph.load([`${prefix}it-1`, `${prefix}it-2`]), loaded);
    // No duplicate nodes or relationships behind the versions either.
    const driver = openDriver();
    try {
      const { records } = await driver.executeQuery(
        `MATCH (e:Entity) WHERE e.iteration_id STARTS WITH $prefix
         OPTIONAL MATCH (v:NodeVersion)-[o:VERSION_OF]->(e)
         WITH count(DISTINCT e) AS entities, count(DISTINCT v) AS versions, count(o) AS edges
         MATCH (a:Entity)-[r]->(:Entity) WHERE a.iteration_id STARTS WITH $prefix
         RETURN entities, versions, edges, count(r) AS rels`,
        { prefix },
        { database: config().database },
      );
      assert.deepEqual(records[0].toObject(), {
        entities: neo4j.int(9),
        versions: neo4j.int(13),
        edges: neo4j.int(13),
        rels: neo4j.int(4),
      });
    } finally {
      await driver.close();
    }
  } finally {
    await graph.close();
  }
});

neo4jTest("neo4j graph stores hostile keys and props verbatim, as parameters", async (prefix) => {
  const graph = await openNeo4jGraph(config());
  const sqlite = openSqliteGraph(":memory:");
  try {
    const it = `${prefix}it'"\\`;
    const hostile = [
      `'}) MATCH (n) DETACH DELETE n //`,
      `"}) DETACH DELETE n RETURN 1 //`,
      `a\\'b\\\\"c`,
      "../../etc/passwd",
      "`backtick` $param {x: 1}",
      "line\nbreak\u0000nul",
    ];
    const sentinel: Version = {
      kind: "node",
      id: entityId("Task", it, ["sentinel"]),
      version_id: "sentinel@1",
      iteration_id: it,
      label: "Task",
      key: ["sentinel"],
      props: {},
      valid_from: 1,
      valid_to: null,
      observed_at: 1,
      superseded_at: null,
    };
    await graph.write({ opened: [sentinel], closed: [] });
    const versions: Version[] = hostile.map((k, i) => ({
      ...sentinel,
      id: entityId("Task", it, [k, k]),
      // Not NUL in ids: the SQLite store's TEXT columns cut a string at NUL (keys and props
      // are JSON there, so they keep it).
      version_id: `${k.replaceAll("\0", "")}@${i}`,
      key: [k, k],
      props: { [k]: k, name: k },
      observed_at: 2,
    }));
    const batch: GraphChanges = {
      opened: versions,
      closed: [],
      observed: versions.map((v) => ({
        id: v.id,
        iteration_id: it,
        observations: [{ time: 5, props: { k: v.key[0] } }],
      })),
    };
    await graph.write(batch);
    await sqlite.write(batch);
    await sqlite.write({ opened: [sentinel], closed: [] });
    const got = await graph.query({ iteration_id: it });
    assert.deepEqual(got, canonical(await sqlite.query({ iteration_id: it })));
    assert.deepEqual(got.map((v) => v.key[0]).sort(), [...hostile, "sentinel"].sort());
    assert.deepEqual(
      (await graph.load([it])).observed.map((o) => o.observations[0].props.k).sort(),
      [...hostile].sort(),
    );
    // Labels and types are never data: anything but a plain identifier is refused before Cypher.
    for (
      const bad of [
        { ...sentinel, version_id: "x1", label: "Task`) DETACH DELETE n //" },
        { ...sentinel, version_id: "x2", label: "NodeVersion" },
        {
          ...sentinel,
          kind: "relationship" as const,
          version_id: "x3",
          label: "HAS_TASK]->() DETACH DELETE n //",
          from: sentinel.id,
          to: sentinel.id,
        },
      ]
    ) {
      await assert.rejects(
        graph.write({ opened: [versions[0], bad], closed: [] }),
        (e: Error) => e instanceof TypeError && /not a usable/.test(e.message),
      );
    }
    assert.equal((await graph.query({ iteration_id: it })).length, hostile.length + 1);
  } finally {
    await graph.close();
    await sqlite.close();
  }
});

neo4jTest(
  "neo4j graph write() rejects a bad row and writes nothing of its batch",
  async (prefix) => {
    const graph = await openNeo4jGraph(config());
    try {
      const [first, second] = history(prefix);
      await graph.write(first);
      const before = mine(prefix, await graph.query({ history: true }));
      const bad = {
        ...second.opened[0],
        version_id: "bad",
        valid_from: "soon" as unknown as number,
      };
      await assert.rejects(
        graph.write({ ...second, opened: [...second.opened, bad] }),
        /valid_from must be an integer/,
      );
      assert.deepEqual(mine(prefix, await graph.query({ history: true })), before);
    } finally {
      await graph.close();
    }
  },
);

Deno.test({
  name: "neo4j graph reports an unreachable server as a RetriableError",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const started = performance.now();
    await assert.rejects(
      openNeo4jGraph(config({ uri: "bolt://127.0.0.1:1" })),
      (e: Error) => e instanceof RetriableError && /127\.0\.0\.1:1/.test(e.message),
    );
    assert.ok(performance.now() - started < 15_000, "fails fast");
  },
});

/** Samples with every parseable event's iteration moved under the prefix (malformed lines kept). */
async function prefixedSamples(prefix: string, dir: string): Promise<string> {
  const lines = (await Deno.readTextFile(join(root, "samples/events.jsonl"))).split("\n");
  const out = lines.map((line) => {
    try {
      const e = JSON.parse(line);
      if (typeof e?.iteration_id === "string" && e.iteration_id.trim()) {
        e.iteration_id = prefix + e.iteration_id;
        return JSON.stringify(e);
      }
    } catch { /* kept as is: a decode error either way */ }
    return line;
  });
  const path = join(dir, "events.jsonl");
  await Deno.writeTextFile(path, out.join("\n"));
  return path;
}

/**
 * A run's history with system time made comparable: version ids lose their `@now` suffix, and
 * observed_at/superseded_at become the ordinal of their batch (both runs batch identically).
 */
function normalise(versions: Version[]) {
  const times = [
    ...new Set(versions.flatMap((v) => [v.observed_at, v.superseded_at ?? v.observed_at])),
  ].sort((a, b) => a - b);
  const batch = (t: number | null) => t === null ? null : times.indexOf(t);
  return versions
    .map((v) => ({
      ...v,
      version_id: v.version_id.replace(/@\d+$/, ""),
      observed_at: batch(v.observed_at),
      superseded_at: batch(v.superseded_at),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

neo4jTest(
  "the samples through the real runtime give the same graph in Neo4j and SQLite",
  async (prefix) => {
    const dir = await Deno.makeTempDir({ prefix: "ics-neo4j-" });
    const { spec, errors } = await loadSpec(join(root, "pipeline.yaml"));
    assert.ok(spec, JSON.stringify(errors));
    const input = await prefixedSamples(prefix, dir);
    // Small batches: late events then arrive in later batches and close versions of earlier ones.
    const source = spec.spec.targets.local.source;
    assert.equal(source.type, "file");
    source.batch_size = 25;
    let neo: GraphStore | undefined;
    try {
      const local = await compile(spec, { target: "local", input, stateDir: join(dir, "sqlite") });
      await run(local);
      const expected = normalise(await local.graph.query({ history: true }));
      await local.close();

      /** The same target with the graph store swapped for Neo4j (and the model that uses it). */
      const runOnNeo4j = async (state: string) => {
        const p = await compile(spec, { target: "local", input, stateDir: join(dir, state) });
        neo ??= await openNeo4jGraph(config({ batch_size: 500 }));
        p.graph = neo;
        p.model = createGraphModel(
          p.engine,
          spec.policy,
          neo,
          spec.spec.runtime.max_iterations_in_memory,
        );
        const result = await run(p);
        await p.close();
        return result;
      };
      await runOnNeo4j("neo4j-1");
      const actual = normalise(mine(prefix, await neo!.query({ history: true })));
      assert.ok(expected.length > 300, `a real graph (${expected.length} versions)`);
      // Links, and versions closed by later batches (small batches, late events): 65 and 39.
      assert.ok(expected.some((v) => v.kind === "link"), "links");
      assert.ok(expected.some((v) => v.superseded_at !== null), "superseded versions");
      assert.deepEqual(actual, expected);

      // A second run from scratch (fresh dedup, model rebuilt from Neo4j by load()) adds nothing.
      const before = mine(prefix, await neo!.query({ history: true }));
      const again = await runOnNeo4j("neo4j-2");
      assert.equal(again.telemetry.get("entity_versions_total"), 0);
      assert.equal(again.telemetry.get("link_versions_total"), 0);
      assert.deepEqual(mine(prefix, await neo!.query({ history: true })), before);
    } finally {
      await neo?.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
