/**
 * The GraphQL API on Neo4j gives the answers it gives on SQLite: the samples run through the
 * embedded target (iterations under a prefix of this run), their whole bi-temporal history copied
 * into Neo4j as it is, and the same queries, at the same points in both times and page by page,
 * asked of both stores must give the same JSON.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import neo4j from "neo4j-driver";
import type { GraphStore } from "../../src/core/component.ts";
import { openNeo4jGraph, schema } from "../../src/sinks/neo4j_graph/mod.ts";
import { openSqliteGraph } from "../../src/sinks/sqlite_graph.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { createApi, deadLettersOf, type GraphqlHandler } from "../../src/api/mod.ts";
import { ask, loadRootSpec, ROOT } from "../../src/api/_testing.ts";
import { SERVICES, serviceTest } from "./_services.ts";

const PREFIX = `api${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}-`;
const config = schema.parse({
  type: "neo4j",
  uri: SERVICES.neo4j,
  user: Deno.env.get("NEO4J_USER"),
  password: Deno.env.get("NEO4J_PASSWORD"),
});

async function cleanup() {
  const driver = neo4j.driver(
    config.uri,
    config.user || config.password
      ? neo4j.auth.basic(config.user ?? "neo4j", config.password ?? "")
      : undefined,
  );
  const session = driver.session({ database: config.database });
  try {
    await session.run(
      `MATCH (e:Entity) WHERE e.iteration_id STARTS WITH $prefix
       CALL (e) { OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(e) DETACH DELETE v, e }
       IN TRANSACTIONS OF 1000 ROWS`,
      { prefix: PREFIX },
    );
  } finally {
    await session.close();
    await driver.close();
  }
}

/** The samples with every parseable event's iteration under the prefix. */
async function prefixedSamples(dir: string): Promise<string> {
  const lines = (await Deno.readTextFile(join(ROOT, "samples/events.jsonl"))).split("\n");
  const out = lines.map((line) => {
    try {
      const e = JSON.parse(line);
      if (typeof e?.iteration_id === "string" && e.iteration_id.trim()) {
        e.iteration_id = PREFIX + e.iteration_id;
        return JSON.stringify(e);
      }
    } catch { /* kept: a decode error either way */ }
    return line;
  });
  const path = join(dir, "events.jsonl");
  await Deno.writeTextFile(path, out.join("\n"));
  return path;
}

/** The queries, each with the list it pages (walked until its last page) and its variables. */
function queries(it: string, times: { asOf?: number; knownAt?: number }[]) {
  const q: { name: string; query: string; vars: Record<string, unknown> }[] = [];
  const entity = `id ref label key validFrom validTo observedAt supersededAt properties
    ... on Task { status attempt duration_ms hasTaskFrom { nodes { ref } } produced { nodes { ref } } }
    ... on Workflow { status hasTask(first: 3) { nodes { ref status } pageInfo { hasNextPage endCursor } } }
    ... on Module { fan_in instability analyzedFrom { nodes { ref } } hasViolation { nodes { ref } } }
    ... on Scenario { tags status }
    links(first: 3) { nodes { id confidence policy matched rules { rule kind score matched detail }
      from { ref } to { ref } } pageInfo { hasNextPage endCursor } }
    versions(history: true) { nodes { validFrom validTo observedAt supersededAt properties } }`;
  for (const at of times) {
    const w = JSON.stringify(at);
    q.push({
      name: `iterations ${w}`,
      query: `query($after: String, $asOf: Time, $knownAt: Time) {
        iterations(prefix: "${PREFIX}", first: 2, after: $after, asOf: $asOf, knownAt: $knownAt) {
          nodes { id counts { entities relationships links byLabel { label count } byType { type count } } }
          pageInfo { hasNextPage endCursor } } }`,
      vars: at,
    });
    q.push({
      name: `entities ${w}`,
      query: `query($after: String, $asOf: Time, $knownAt: Time) {
        iteration(id: "${it}", asOf: $asOf, knownAt: $knownAt) {
          entities(first: 7, after: $after) { nodes { ${entity} } pageInfo { hasNextPage endCursor } } } }`,
      vars: at,
    });
    q.push({
      name: `relationships ${w}`,
      query: `query($after: String, $asOf: Time, $knownAt: Time) {
        iteration(id: "${it}", asOf: $asOf, knownAt: $knownAt) {
          relationships(first: 6, after: $after) { nodes { id type from { ref } to { ref } validFrom observedAt }
            pageInfo { hasNextPage endCursor } } } }`,
      vars: at,
    });
    q.push({
      name: `links ${w}`,
      query: `query($after: String, $asOf: Time, $knownAt: Time) {
        links(iterationId: "${it}", first: 4, after: $after, asOf: $asOf, knownAt: $knownAt) {
          nodes { id confidence from { ref } to { ref } rules { rule score } observedAt supersededAt }
          pageInfo { hasNextPage endCursor } } }`,
      vars: at,
    });
    q.push({
      name: `filtered links ${w}`,
      query: `query($after: String, $asOf: Time, $knownAt: Time) {
        links(iterationId: "${it}", rule: "artifact-module-name", minConfidence: 0.5, first: 2,
          after: $after, asOf: $asOf, knownAt: $knownAt) {
          nodes { id confidence } pageInfo { hasNextPage endCursor } } }`,
      vars: at,
    });
    q.push({
      name: `explain ${w}`,
      query: `query($asOf: Time, $knownAt: Time) {
        near: explain(a: {label: Artifact, iterationId: "${it}", key: ["src/api/user_service.py"]},
          b: {label: Module, iterationId: "${it}", key: ["src/api/user_services.py"]},
          asOf: $asOf, knownAt: $knownAt) {
          linked confidence missing a { ref } b { ref } link { id confidence }
          verdicts { rule kind verdict score reason matched detail } } }`,
      vars: at,
    });
  }
  return q;
}

/** Every page of a query's connection (the first connection found in its data). */
async function pages(api: GraphqlHandler, query: string, vars: Record<string, unknown>) {
  const out: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < 200; i++) {
    const a = await ask(api, query, { ...vars, after });
    out.push(a.body);
    const info = JSON.stringify(a.body).match(
      /"pageInfo":\{"hasNextPage":(true|false),"endCursor":("[^"]*"|null)\}/,
    );
    if (!info || info[1] === "false") break;
    after = JSON.parse(info[2]);
  }
  return out;
}

serviceTest("the API answers the same on Neo4j as on SQLite, at every time point, page by page", [
  "neo4j",
], async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-api-neo4j-" });
  const spec = await loadRootSpec();
  const source = spec.spec.targets.local.source;
  if (source.type === "file") source.batch_size = 25;
  let neo: GraphStore | undefined;
  let lite: GraphStore | undefined;
  await cleanup();
  try {
    const input = await prefixedSamples(dir);
    const p = await compile(spec, { target: "local", input, stateDir: dir, log: () => {} });
    await run(p);
    await p.close();
    lite = openSqliteGraph(join(dir, "graph.db"));
    const versions = (await lite.query({ history: true })).filter((v) =>
      v.iteration_id.startsWith(PREFIX)
    );
    neo = await openNeo4jGraph(config);
    await neo.write({ opened: versions, closed: [] });
    const dead = deadLettersOf({ type: "file", path: "dlq.jsonl" }, dir);
    const apis = [lite, neo].map((store) =>
      createApi({ spec, store, deadLetters: dead, token: "" })
    );
    // Time points: now, after each of a few batches, and valid times across the iterations.
    const batches = [...new Set(versions.map((v) => v.observed_at))].sort((a, b) => a - b);
    const valid = versions.map((v) => v.valid_from).sort((a, b) => a - b);
    const at = (f: number) => valid[Math.floor(f * (valid.length - 1))];
    const times = [
      {},
      { knownAt: batches[2] },
      { knownAt: batches[Math.floor(batches.length / 2)] },
      { asOf: at(0.1) },
      { asOf: at(0.5), knownAt: batches.at(-2) },
    ];
    let compared = 0;
    for (const { name, query, vars } of queries(`${PREFIX}it-0001`, times)) {
      const [a, b] = await Promise.all(apis.map((api) => pages(api, query, vars)));
      assert.deepEqual(b, a, name);
      assert.ok(
        !JSON.stringify(a).includes('"errors"'),
        `${name}: ${JSON.stringify(a).slice(0, 500)}`,
      );
      compared += a.length;
    }
    assert.ok(compared > 40, `${compared} pages compared`);
  } finally {
    await lite?.close();
    await neo?.close();
    await cleanup();
    await Deno.remove(dir, { recursive: true });
  }
});
