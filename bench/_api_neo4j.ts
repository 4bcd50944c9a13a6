/**
 * `bench:api --neo4j`: the embedded graph's whole bi-temporal history written to Neo4j as it is
 * (its iterations have ids of their own), and deleted again afterwards.
 * @module
 */
import neo4j from "neo4j-driver";
import type { Version } from "../src/core/types.ts";
import { openSqliteGraph } from "../src/sinks/sqlite_graph.ts";
import { openNeo4jGraph, schema } from "../src/sinks/neo4j_graph/mod.ts";

const config = () =>
  schema.parse({
    type: "neo4j",
    uri: Deno.env.get("NEO4J_URI") ?? "bolt://127.0.0.1:7687",
    user: Deno.env.get("NEO4J_USER"),
    password: Deno.env.get("NEO4J_PASSWORD"),
  });

/** Copy every version of the iterations under `prefix`; the number of versions written. */
export async function copyToNeo4j(graphDb: string, prefix: string): Promise<number> {
  await deleteFromNeo4j(prefix);
  const lite = openSqliteGraph(graphDb);
  const neo = await openNeo4jGraph(config());
  let written = 0;
  try {
    const iterations = (await lite.iterations!()).filter((i) => i.startsWith(prefix));
    let batch: Version[] = [];
    const flush = async () => {
      if (batch.length) await neo.write({ opened: batch, closed: [] });
      written += batch.length;
      batch = [];
    };
    for (const iteration_id of iterations) {
      batch.push(...await lite.query({ iteration_id, history: true }));
      // 5,000 a transaction: 20,000 outlasted the store's 60 s transaction timeout on a busy machine.
      if (batch.length >= 5_000) await flush();
    }
    await flush();
  } finally {
    await lite.close();
    await neo.close();
  }
  return written;
}

export async function deleteFromNeo4j(prefix: string): Promise<void> {
  const c = config();
  const driver = neo4j.driver(
    c.uri,
    c.user || c.password ? neo4j.auth.basic(c.user ?? "neo4j", c.password ?? "") : undefined,
  );
  const session = driver.session({ database: c.database });
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
