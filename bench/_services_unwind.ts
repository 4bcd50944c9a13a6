/**
 * The Neo4j baselines of `bench/services.ts`: the graph changes the embedded model makes of a
 * corpus (decode → in-batch dedup → map → correlate, as the runtime does, with a store that holds
 * nothing), written through the Neo4j graph store itself; and what a peer-shaped sink (the Neo4j
 * Kafka connector's Cypher strategy) writes for the same events, to a scratch label set of the run,
 * removed after.
 * @module
 */
import type { Driver } from "neo4j-driver";
import type { CompiledSpec } from "../src/compiler/mod.ts";
import type { GraphStore } from "../src/core/component.ts";
import type { GraphChanges, RawRecord } from "../src/core/types.ts";
import { createDecoder } from "../src/codecs/mod.ts";
import { identify } from "../src/dedup/mod.ts";
import { createMapper, MappingError } from "../src/mapping/mod.ts";
import { createEngine } from "../src/correlation/mod.ts";
import { createGraphModel, entityId } from "../src/graph/mod.ts";
import { flatten, type Row } from "../src/sinks/neo4j_graph/_rows.ts";
import { openNeo4jGraph, schema as neo4jSchema } from "../src/sinks/neo4j_graph/mod.ts";

/** The model's changes for the lines, in batches of `batchSize` records (the source's default). */
export async function changesOf(
  spec: CompiledSpec,
  lines: Uint8Array[],
  batchSize = 5000,
): Promise<{ batches: GraphChanges[]; ms: number }> {
  const started = performance.now();
  const none = () => Promise.resolve([]);
  const nothing: GraphStore = {
    readIterations: none,
    countIteration: () => Promise.resolve({ entities: {}, relationships: {}, links: 0 }),
    readEntities: none,
    readNodes: none,
    readRelationships: none,
    relationshipsOf: () => Promise.resolve(new Map()),
    readLinks: none,
    linksOf: () => Promise.resolve(new Map()),
    write: () => Promise.resolve(),
    load: () => Promise.resolve({ versions: [] }),
    query: () => Promise.resolve([]),
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const engine = createEngine({
    rules: spec.rules,
    combine: spec.combine,
    min_confidence: spec.min_confidence,
    policy: spec.policy,
  });
  const model = createGraphModel(
    engine,
    spec.policy,
    nothing,
    spec.spec.runtime.max_iterations_in_memory,
  );
  const decode = createDecoder(spec);
  const mapper = createMapper(spec.entities, spec.relationships);
  const batches: GraphChanges[] = [];
  for (let i = 0; i < lines.length; i += batchSize) {
    const inBatch = new Set<string>();
    const entities = [], relationships = [], iterations = [];
    for (let j = i; j < Math.min(lines.length, i + batchSize); j++) {
      const record: RawRecord = {
        value: lines[j],
        format: "json",
        position: { kind: "file", path: "-", line: j + 1 },
      };
      const d = decode(record);
      if (!d.ok) continue;
      const { key, digest } = identify(spec.streams.get(d.stream)!, d.event);
      if (inBatch.has(`${key}:${digest}`)) continue;
      inBatch.add(`${key}:${digest}`);
      try {
        const m = mapper.map(d.stream, d.event);
        entities.push(...m.entities);
        relationships.push(...m.relationships);
        iterations.push(d.event.iteration_id);
      } catch (error) {
        if (!(error instanceof MappingError)) throw error;
      }
    }
    await model.prepare(iterations);
    const applied = model.apply(entities, relationships, Date.now());
    model.done(applied.iterations);
    batches.push(applied.changes);
  }
  return { batches, ms: performance.now() - started };
}

export interface PeerResult {
  /** Wall time of the writes only (rows made beforehand). */
  ms: number;
  /** Statements' rows: entity merges and relationship merges. */
  rows: number;
  /** Lines written (the first `lines` of the input; fewer than all when the deadline passed). */
  lines: number;
}

/** The scratch names of a run's peer-shaped graph. */
const names = (run: string) => ({
  label: (l: string) => `Peer${run}${l}`,
  type: (t: string) => `PEER_${run.toUpperCase()}_${t}`,
});

/**
 * What a peer writes for the same events: the Neo4j Kafka connector's Cypher strategy, one
 * statement per event type as its sink topics would be configured — per event `MERGE` of each
 * entity it names with `SET n += props`, and of each relationship between two merged endpoints;
 * batches of 1,000 events per transaction; one uniqueness constraint per label. No history, no
 * correlation: the floor a graph sink of these events has on this Neo4j. Stops after the batch
 * that ends past `seconds` of writing.
 */
export async function peerSink(
  driver: Driver,
  run: string,
  spec: CompiledSpec,
  lines: Uint8Array[],
  { batchSize = 1000, seconds = Infinity }: { batchSize?: number; seconds?: number } = {},
): Promise<PeerResult> {
  if (!/^[a-z0-9]+$/.test(run)) throw new Error(`run id "${run}" is not a plain name`);
  const n = names(run);
  const decode = createDecoder(spec);
  const mapper = createMapper(spec.entities, spec.relationships);
  // The rows, made before the clock starts: per batch, per (event type, label or type).
  const batches: { cypher: string; rows: Row[] }[][] = [];
  for (let i = 0; i < lines.length; i += batchSize) {
    const groups = new Map<string, { cypher: string; rows: Row[] }>();
    const add = (key: string, cypher: string, row: Row) => {
      const g = groups.get(key);
      if (g) g.rows.push(row);
      else groups.set(key, { cypher, rows: [row] });
    };
    for (const value of lines.slice(i, i + batchSize)) {
      const d = decode({ value, format: "json", position: { kind: "file", path: "-", line: 0 } });
      if (!d.ok) continue;
      let m;
      try {
        m = mapper.map(d.stream, d.event);
      } catch (error) {
        if (error instanceof MappingError) continue;
        throw error;
      }
      for (const e of m.entities) {
        const label = n.label(e.label);
        add(
          `n:${label}`,
          `UNWIND $rows AS row MERGE (n:${label} {id: row.id}) SET n += row.props`,
          {
            id: entityId(e.label, e.iteration_id, e.key),
            props: flatten(e.props).props,
          },
        );
      }
      for (const r of m.relationships) {
        const [from, to, type] = [n.label(r.from.label), n.label(r.to.label), n.type(r.type)];
        add(
          `r:${type}`,
          `UNWIND $rows AS row MERGE (a:${from} {id: row.from}) MERGE (b:${to} {id: row.to})
           MERGE (a)-[:${type}]->(b)`,
          {
            from: entityId(r.from.label, r.iteration_id, r.from.key),
            to: entityId(r.to.label, r.iteration_id, r.to.key),
          },
        );
      }
    }
    batches.push([...groups.values()].sort((a, b) => a.cypher.localeCompare(b.cypher)));
  }
  for (const e of spec.entities) {
    await driver.executeQuery(
      `CREATE CONSTRAINT peer_${run}_${e.label.toLowerCase()} IF NOT EXISTS
       FOR (x:${n.label(e.label)}) REQUIRE x.id IS UNIQUE`,
    );
  }
  await driver.executeQuery("CALL db.awaitIndexes(60)");
  let rows = 0, written = 0;
  const started = performance.now();
  for (const batch of batches) {
    if (performance.now() - started > seconds * 1000) break;
    const session = driver.session();
    try {
      await session.executeWrite(async (tx) => {
        for (const s of batch) await tx.run(s.cypher, { rows: s.rows });
      });
    } finally {
      await session.close();
    }
    rows += batch.reduce((a, s) => a + s.rows.length, 0);
    written = Math.min(lines.length, written + batchSize);
  }
  return { ms: performance.now() - started, rows, lines: written };
}

/**
 * The same batches through the Neo4j graph store itself (`write()`, default config): the bare
 * rate over this one is the cost of the store's extras. It writes the corpus iterations under the
 * store's labels: the caller deletes them before the pipeline runs.
 */
export async function storeWrite(uri: string, batches: GraphChanges[]): Promise<number> {
  const store = await openNeo4jGraph(neo4jSchema.parse({ type: "neo4j", uri }));
  try {
    const started = performance.now();
    for (const b of batches) await store.write(b);
    return performance.now() - started;
  } finally {
    await store.close();
  }
}

/** Remove the peer-shaped graph of the run: its nodes, relationships and constraints. */
export async function dropPeer(driver: Driver, run: string, spec: CompiledSpec): Promise<void> {
  const n = names(run);
  for (const e of spec.entities) {
    // CALL … IN TRANSACTIONS needs an auto-commit transaction: session.run, not executeQuery.
    const session = driver.session();
    try {
      await session.run(
        `MATCH (x:${n.label(e.label)}) CALL (x) { DETACH DELETE x } IN TRANSACTIONS OF 10000 ROWS`,
      );
    } finally {
      await session.close();
    }
    await driver.executeQuery(`DROP CONSTRAINT peer_${run}_${e.label.toLowerCase()} IF EXISTS`);
  }
}
