/**
 * The Neo4j graph store against a real server: the graph store contract the SQLite store passes
 * too, what is Neo4j's own (identifiers refused before Cypher, a minimal schema, versions of the
 * earlier shape read), and the same graph as SQLite through the real runtime on the samples.
 * Every test writes iterations under a prefix unique to this run and deletes only those.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import type { GraphStore } from "../../src/core/component.ts";
import type { Version } from "../../src/core/types.ts";
import { FencedError, RetriableError } from "../../src/core/errors.ts";
import { openNeo4jGraph, schema } from "../../src/sinks/neo4j_graph/mod.ts";
import { entityId } from "../../src/graph/mod.ts";
import { graphStoreContract, history } from "../graph_store_contract.ts";
import { stableStringify } from "../../src/core/hash.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import { withRetry } from "../../src/runtime/_retry.ts";

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

// The graph store contract, as the SQLite store passes it (tests/graph_store_contract.ts).
graphStoreContract("neo4j", () => openNeo4jGraph(config()), {
  test: (name, fn) => serviceTest(name, ["neo4j"], fn),
  cleanup,
});

neo4jTest(
  "neo4j graph refuses labels, types and prop names that are no identifiers",
  async (prefix) => {
    const graph = await openNeo4jGraph(config());
    try {
      const [first] = history(prefix);
      const v = first.opened[0];
      for (
        const bad of [
          { ...v, label: "Task`) DETACH DELETE n //" },
          { ...v, label: "NodeVersion" },
          { ...v, props: { valid_from: "shadows a time" } },
          { ...first.opened[3], label: "HAS_TASK]->() DETACH DELETE n //" },
        ]
      ) {
        await assert.rejects(
          graph.write({ opened: [v, bad], closed: [] }),
          (e: Error) => e instanceof TypeError && /not a usable|cannot be stored/.test(e.message),
        );
      }
      assert.deepEqual(mine(prefix, await graph.query({ history: true })), []);
    } finally {
      await graph.close();
    }
  },
);

neo4jTest(
  "neo4j graph refuses the write of a runner whose claim another one took over",
  async (prefix) => {
    const a = await openNeo4jGraph(config());
    const b = await openNeo4jGraph(config());
    try {
      const [first, second] = history(prefix);
      const part = `${prefix}group/0`;
      const claimA = await a.claim!([part], "runner-a");
      const fenceA = { owner: "runner-a", claims: claimA };
      await a.write(first, fenceA); // A owns the part: written
      // The group moves the part to B, which claims it; A, stalled meanwhile, then writes.
      const claimB = await b.claim!([part], "runner-b");
      assert.equal(claimB[part], claimA[part] + 1);
      await assert.rejects(
        a.write(second, fenceA),
        (e: Error) => e instanceof FencedError && e.message.includes(part),
      );
      const written = mine(prefix, await a.query({ history: true }));
      assert.equal(written.length, first.opened.length, "nothing of the refused batch");
      await b.write(second, { owner: "runner-b", claims: claimB }); // the new owner writes
      assert.ok(mine(prefix, await b.query({ history: true })).length > written.length);
      // Unfenced writes (a file source, a tool) are not affected.
      await a.write(second);
    } finally {
      await a.close();
      await b.close();
      const driver = openDriver();
      await driver.executeQuery("MATCH (l:IcsLease) WHERE l.part STARTS WITH $prefix DELETE l", {
        prefix,
      });
      await driver.close();
    }
  },
);

neo4jTest(
  "neo4j graph keeps no index on versions: Entity.id, Entity.iteration_id and the leases",
  async () => {
    const driver = openDriver();
    try {
      // What an earlier version of the store made: dropped when the store opens.
      await driver.executeQuery(
        "CREATE INDEX ics_node_version_valid_from IF NOT EXISTS FOR (x:NodeVersion) ON (x.valid_from)",
      );
      const graph = await openNeo4jGraph(config());
      await graph.close();
      const { records } = await driver.executeQuery(
        "SHOW INDEXES YIELD name WHERE name STARTS WITH 'ics_' RETURN name ORDER BY name",
      );
      assert.deepEqual(records.map((r) => r.get("name")), [
        "ics_entity_id",
        "ics_entity_iteration_id",
        "ics_lease_part",
      ]);
    } finally {
      await driver.close();
    }
  },
);

neo4jTest("neo4j graph reads versions an earlier version of the store wrote", async (prefix) => {
  const driver = openDriver();
  const graph = await openNeo4jGraph(config());
  try {
    const it = `${prefix}it-1`, id = entityId("Task", it, ["build"]);
    // The earlier shape: version id, props as JSON beside flattened props, fields repeated.
    await driver.executeQuery(
      `CREATE (e:Entity:Task {id: $id, iteration_id: $it, label: 'Task', key: ['build']})
       CREATE (x:NodeVersion {version_id: $vid, id: $id, iteration_id: $it, label: 'Task',
         key: ['build'], props_json: $json, status: 'RUNNING', tags: '{"a":1}', valid_from: 1000,
         valid_to: null, observed_at: 10000, superseded_at: null})-[:VERSION_OF]->(e)`,
      {
        id,
        it,
        vid: `${id}@1000@10000`,
        json: JSON.stringify({ status: "RUNNING", tags: { a: 1 } }),
      },
    );
    const [v] = await graph.query({ iteration_id: it });
    assert.equal(v.version_id, `${id}@1000@10000`);
    assert.deepEqual(v.props, { status: "RUNNING", tags: { a: 1 } });
    // Closing it works as for a version of today.
    await graph.write({
      opened: [],
      closed: [{
        kind: "node",
        version_id: v.version_id,
        id,
        label: "Task",
        valid_from: 1000,
        observed_at: 10_000,
        at: 20_000,
      }],
    });
    assert.deepEqual(await graph.query({ iteration_id: it }), []);
  } finally {
    await graph.close();
    await driver.close();
  }
});

serviceTest(
  "neo4j graph gives up on a connection gone silent after transaction_timeout_ms + 5 s, and recovers",
  ["neo4j"],
  async () => {
    const proxy = await startProxy(hostPort("neo4j"));
    const graph = await openNeo4jGraph(
      config({ uri: `bolt://127.0.0.1:${proxy.port}`, transaction_timeout_ms: 1000 }),
    );
    const prefix = `${RUN}-silent-`;
    try {
      const [first] = history(prefix);
      await graph.check(); // a pooled connection, which the freeze then silences mid-call
      await proxy.down("freeze"); // nothing passes: the driver has no read timeout of its own
      const started = performance.now();
      await assert.rejects(
        graph.write(first),
        (e: Error) => e instanceof RetriableError && /no answer within 6 s/.test(e.message),
      );
      const waited = performance.now() - started;
      assert.ok(waited >= 5_900 && waited < 30_000, `gave up after ${waited} ms`);
      await proxy.up();
      // The runtime's retry goes out on new connections (a busy server may end a 1 s
      // transaction at its timeout: retried too).
      await withRetry(() => graph.write(first), { baseMs: 100, maxMs: 1000 });
      const written = await withRetry(() => graph.load([`${prefix}it-1`, `${prefix}it-2`]));
      assert.equal(written.versions.length, first.opened.length);
    } finally {
      await graph.close();
      await proxy.close();
      await cleanup(prefix);
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
    .sort((a, b) => stableStringify(a).localeCompare(stableStringify(b)));
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

      /** The same target with the graph store swapped for Neo4j (the model reads from it too). */
      const runOnNeo4j = async (state: string) => {
        const p = await compile(spec, { target: "local", input, stateDir: join(dir, state) });
        neo ??= await openNeo4jGraph(config({ batch_size: 500 }));
        p.graph = neo;
        p.modelStore = neo;
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
