/**
 * The raw Neo4j baseline of `bench/services.ts`: the graph changes the embedded model makes of a
 * corpus (decode → in-batch dedup → map → correlate, as the runtime does, with a store that holds
 * nothing), turned into the Neo4j store's own rows (`planWrite`), then written with plain
 * `UNWIND $rows` statements: `MERGE` of identity nodes, `CREATE` of versions, `MATCH … SET` of
 * closes, one transaction per batch and one statement per label or type, as the store does, but
 * none of its extras (no uniqueness on version ids, no temporal indexes, no label fix-up, no
 * schema look-ups per batch). Everything goes to a scratch label set of the run, removed after.
 * @module
 */
import type { Driver } from "neo4j-driver";
import type { CompiledSpec } from "../src/spec/mod.ts";
import type { GraphStore } from "../src/core/component.ts";
import type { GraphChanges, RawRecord } from "../src/core/types.ts";
import { createDecoder } from "../src/codecs/mod.ts";
import { identify } from "../src/dedup/mod.ts";
import { createMapper, MappingError } from "../src/mapping/mod.ts";
import { createEngine } from "../src/correlation/mod.ts";
import { createGraphModel } from "../src/graph/mod.ts";
import { planWrite, type Row, type WritePlan } from "../src/sinks/neo4j_graph/_rows.ts";
import { openNeo4jGraph, schema as neo4jSchema } from "../src/sinks/neo4j_graph/mod.ts";

/** The model's changes for the lines, in batches of `batchSize` records (the source's default). */
export async function changesOf(
  spec: CompiledSpec,
  lines: Uint8Array[],
  batchSize = 5000,
): Promise<{ batches: GraphChanges[]; ms: number }> {
  const started = performance.now();
  const nothing: GraphStore = {
    write: () => Promise.resolve(),
    load: () => Promise.resolve({ versions: [], observed: [] }),
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

export interface UnwindResult {
  /** Wall time of the writes only (rows planned beforehand). */
  ms: number;
  /** Time `planWrite` took for all batches (not in `ms`). */
  plan_ms: number;
  rows: number;
  opened: number;
  closed: number;
}

const names = (run: string) => ({
  entity: `BenchE_${run}`,
  version: `BenchV_${run}`,
  of: `BENCH_${run}_OF`,
  type: (t: string) => `BENCH_${run}_${t}`,
});

/** Write the batches with bare UNWIND statements to the run's scratch labels. */
export async function bareUnwind(
  driver: Driver,
  run: string,
  batches: GraphChanges[],
  rowsPerStatement = 5000,
): Promise<UnwindResult> {
  if (!/^[a-z0-9]+$/.test(run)) throw new Error(`run id "${run}" is not a plain name`);
  const n = names(run);
  let started = performance.now();
  const plans: WritePlan[] = batches.map(planWrite);
  const plan_ms = performance.now() - started;
  const typeOf = new Map<string, string>(); // relationship or link version id → type
  const types = new Set<string>();
  for (const plan of plans) {
    for (const [type, rows] of plan.rels) {
      types.add(type);
      for (const r of rows) typeOf.set((r.fields as Row).version_id as string, type);
    }
  }
  // Only what the statements below need to find their rows: no more.
  const schema = [
    `CREATE CONSTRAINT bench_${run}_entity IF NOT EXISTS FOR (x:\`${n.entity}\`) REQUIRE x.id IS UNIQUE`,
    `CREATE INDEX bench_${run}_version IF NOT EXISTS FOR (x:\`${n.version}\`) ON (x.version_id)`,
    ...[...types].map((t) =>
      `CREATE INDEX bench_${run}_${t.toLowerCase()} IF NOT EXISTS FOR ()-[x:\`${
        n.type(t)
      }\`]-() ON (x.version_id)`
    ),
  ];
  for (const s of schema) await driver.executeQuery(s);
  await driver.executeQuery("CALL db.awaitIndexes(60)");

  let rows = 0, opened = 0, closed = 0;
  started = performance.now();
  for (const plan of plans) {
    const session = driver.session();
    try {
      await session.executeWrite(async (tx) => {
        const put = async (cypher: string, list: Row[]) => {
          for (let i = 0; i < list.length; i += rowsPerStatement) {
            await tx.run(cypher, { rows: list.slice(i, i + rowsPerStatement) });
          }
          rows += list.length;
        };
        await put(
          `UNWIND $rows AS row MATCH (x:\`${n.version}\` {version_id: row.version_id})
           SET x.superseded_at = row.at`,
          plan.closed.node,
        );
        const closes = new Map<string, Row[]>();
        for (const r of [...plan.closed.relationship, ...plan.closed.link]) {
          const type = typeOf.get(r.version_id as string);
          if (type) closes.set(type, [...closes.get(type) ?? [], r]);
        }
        for (const [type, list] of closes) {
          await put(
            `UNWIND $rows AS row MATCH ()-[x:\`${n.type(type)}\` {version_id: row.version_id}]->()
             SET x.superseded_at = row.at`,
            list,
          );
        }
        for (const list of plan.nodes.values()) {
          await put(
            `UNWIND $rows AS row
             MERGE (e:\`${n.entity}\` {id: row.fields.id})
             CREATE (x:\`${n.version}\`) SET x = row.props, x += row.fields
             CREATE (x)-[:\`${n.of}\`]->(e)`,
            list,
          );
        }
        await put(
          `UNWIND $rows AS row MERGE (e:\`${n.entity}\` {id: row.id})
           SET e.observations_json = row.observations`,
          plan.observed,
        );
        for (const [type, list] of plan.rels) {
          await put(
            `UNWIND $rows AS row
             MERGE (a:\`${n.entity}\` {id: row.from})
             MERGE (b:\`${n.entity}\` {id: row.to})
             CREATE (a)-[x:\`${n.type(type)}\`]->(b) SET x = row.props, x += row.fields`,
            list,
          );
        }
      });
    } finally {
      await session.close();
    }
    opened += [...plan.nodes.values(), ...plan.rels.values()].reduce((a, l) => a + l.length, 0);
    closed += plan.closed.node.length + plan.closed.relationship.length + plan.closed.link.length;
  }
  return { ms: performance.now() - started, plan_ms, rows, opened, closed };
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

/** Remove the scratch nodes, relationships, constraint and indexes of the run. */
export async function dropBare(driver: Driver, run: string): Promise<void> {
  const n = names(run);
  for (const label of [n.version, n.entity]) {
    // CALL … IN TRANSACTIONS needs an auto-commit transaction: session.run, not executeQuery.
    const session = driver.session();
    try {
      await session.run(
        `MATCH (x:\`${label}\`) CALL (x) { DETACH DELETE x } IN TRANSACTIONS OF 10000 ROWS`,
      );
    } finally {
      await session.close();
    }
  }
  const schema = await driver.executeQuery(
    `SHOW INDEXES YIELD name, owningConstraint WHERE name STARTS WITH $prefix
     RETURN name, owningConstraint`,
    { prefix: `bench_${run}_` },
  );
  for (const r of schema.records) {
    const name = r.get("name") as string, owner = r.get("owningConstraint") as string | null;
    await driver.executeQuery(
      owner ? `DROP CONSTRAINT \`${owner}\` IF EXISTS` : `DROP INDEX \`${name}\` IF EXISTS`,
    );
  }
}
