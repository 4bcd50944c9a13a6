/**
 * Neo4j graph store (services target): the bi-temporal versions of the SQLite store, as a graph.
 *
 * ```
 * (:Entity:<Label> {id, iteration_id, label, key, observations_json})        one node per entity
 * (:NodeVersion {version_id, id, iteration_id, label, key, props_json, <props>,
 *                valid_from, valid_to, observed_at, superseded_at})-[:VERSION_OF]->(:Entity)
 * (:Entity)-[:<TYPE> {version_id, id, iteration_id, props_json, valid_from, ...}]->(:Entity)
 * (:Entity)-[:CORRELATES {version_id, id, iteration_id, confidence, policy, rules,
 *                         props_json, valid_from, ...}]->(:Entity)
 * ```
 *
 * - An entity has one identity node (uniqueness on `id`, the fact id) carrying its label; each
 *   node version hangs off it. Structural relationships and correlation links are relationships
 *   between identity nodes, one per version, so `MATCH (:Entity)-[r:HAS_TASK]->(:Entity) WHERE
 *   r.superseded_at IS NULL` reads naturally. Times are integer epoch ms.
 * - Properties are also set one by one (scalars and lists of one scalar type as they are, other
 *   values as JSON text, e.g. a link's `rules`; names of system fields are skipped), for queries;
 *   `props_json` is what `query()` returns, so every value round-trips exactly.
 * - Entity observations (the graph model's restart state) are JSON text on the identity node.
 * - Uniqueness on `version_id` per version label/type makes `write()` idempotent (MERGE); indexes
 *   on `id`, `iteration_id` and the four temporal properties serve `query()` and `load()`.
 *   Schema for a relationship type is created (IF NOT EXISTS) before the first batch that uses it:
 *   Neo4j does not mix schema and data changes in one transaction.
 * - Labels and types come from the spec and are checked against strict patterns before they
 *   appear in Cypher; every value is a parameter. A batch is one transaction of `UNWIND`
 *   statements, one per label or type.
 * - `query()` orders as the SQLite store does (kind, label, key text, valid_from, observed_at, by
 *   code point), then by version_id so that the order is total.
 * - Differences from SQLite, none reachable from the graph model: version ids are unique per
 *   version label/type (not across all of them), `closed` finds a version by its kind, and an
 *   entity's observations are keyed by its id alone (the id embeds the iteration).
 * @module
 */
import { z } from "zod";
// The client is loaded on first use: the embedded target never pays for it.
import type { Driver, ManagedTransaction } from "neo4j-driver";
import type { ComponentDef, GraphStore, VersionQuery } from "../core/component.ts";
import type { EntityObservations, GraphChanges, Version } from "../core/types.ts";
import { RetriableError } from "../core/errors.ts";

export const schema = z.strictObject({
  type: z.literal("neo4j"),
  uri: z.string().min(1).default("bolt://127.0.0.1:7687").describe(
    "Bolt URI of the server, e.g. bolt://127.0.0.1:7687 (neo4j:// for a cluster).",
  ),
  user: z.string().optional().describe(
    "User name; leave out (or empty) when authentication is disabled.",
  ),
  password: z.string().optional().describe(
    'Password; take it from the environment: "${NEO4J_PASSWORD}".',
  ),
  database: z.string().min(1).default("neo4j").describe("Database to write to."),
  batch_size: z.number().int().min(1).max(100_000).default(5000).describe(
    "Rows per UNWIND statement; a batch is still one transaction.",
  ),
}).describe("Bi-temporal graph in Neo4j 5 (Community or Enterprise).");

export type Neo4jGraphConfig = z.infer<typeof schema>;

export const neo4jGraph: ComponentDef<typeof schema, GraphStore> = {
  type: "neo4j",
  schema,
  create: (config) => openNeo4jGraph(config),
};

const LABEL = /^[A-Z][A-Za-z0-9]*$/;
const REL_TYPE = /^[A-Z][A-Z0-9_]*$/;
const LINK = "CORRELATES";
const RESERVED_LABELS = new Set(["Entity", "NodeVersion"]);
const RESERVED_TYPES = new Set(["VERSION_OF", LINK]);
/** Stored Version fields: a prop with one of these names is kept in `props_json` only. */
// deno-fmt-ignore
const SYSTEM = new Set([
  "kind", "id", "version_id", "iteration_id", "label", "key", "from_id", "to_id", "props_json",
  "valid_from", "valid_to", "observed_at", "superseded_at", "observations_json",
]);
const INDEXED = ["id", "iteration_id", "valid_from", "valid_to", "observed_at", "superseded_at"];

/** Constraint and indexes of a version holder; `x` is the node or relationship variable. */
const holderSchema = (name: string, pattern: string) => [
  `CREATE CONSTRAINT ics_${name}_version_id IF NOT EXISTS FOR ${pattern}
   REQUIRE x.version_id IS UNIQUE`,
  ...INDEXED.map((p) => `CREATE INDEX ics_${name}_${p} IF NOT EXISTS FOR ${pattern} ON (x.${p})`),
];
const relSchema = (type: string) => holderSchema(`rel_${type}`, `()-[x:${type}]-()`);
const BASE_SCHEMA = [
  "CREATE CONSTRAINT ics_entity_id IF NOT EXISTS FOR (x:Entity) REQUIRE x.id IS UNIQUE",
  "CREATE INDEX ics_entity_iteration_id IF NOT EXISTS FOR (x:Entity) ON (x.iteration_id)",
  ...holderSchema("node_version", "(x:NodeVersion)"),
  ...relSchema(LINK),
];

/** Connect, check the server and create the schema; RetriableError when it is unreachable. */
export async function openNeo4jGraph(config: Neo4jGraphConfig): Promise<GraphStore> {
  const { default: neo4j } = await import("neo4j-driver");
  const user = config.user || undefined;
  const auth = user !== undefined || config.password
    ? neo4j.auth.basic(user ?? "neo4j", config.password ?? "")
    : undefined; // no authentication
  const driver = neo4j.driver(config.uri, auth, {
    disableLosslessIntegers: true,
    maxTransactionRetryTime: 5000,
    connectionTimeout: 10_000,
  });
  const store = new Neo4jGraph(driver, config);
  try {
    await store.check();
    await store.ensureSchema(BASE_SCHEMA);
    // Types other runs created get any index this version adds (IF NOT EXISTS: cheap otherwise).
    await store.ensureSchema((await store.refreshTypes()).flatMap(relSchema));
  } catch (error) {
    await driver.close();
    throw error;
  }
  return store;
}

type Row = Record<string, unknown>;

class Neo4jGraph implements GraphStore {
  /** Relationship types whose schema exists (CORRELATES included). */
  #types = new Set<string>([LINK]);

  constructor(readonly driver: Driver, readonly config: Neo4jGraphConfig) {}

  async write(changes: GraphChanges): Promise<void> {
    const plan = planWrite(changes);
    const fresh = [...plan.rels.keys()].filter((t) => !this.#types.has(t));
    if (fresh.length || plan.closed.relationship.length) await this.refreshTypes();
    for (const type of fresh.filter((t) => !this.#types.has(t))) {
      await this.ensureSchema(relSchema(type));
      this.#types.add(type);
    }
    const structural = [...this.#types].filter((t) => t !== LINK);
    await this.#session("WRITE", (tx) => this.#apply(tx, plan, structural));
  }

  async #apply(tx: ManagedTransaction, plan: WritePlan, structural: string[]) {
    const run = async (cypher: string, rows: Row[]) => {
      for (let i = 0; i < rows.length; i += this.config.batch_size) {
        await tx.run(cypher, { rows: rows.slice(i, i + this.config.batch_size) });
      }
    };
    const close = (match: string) =>
      `UNWIND $rows AS row MATCH ${match} WHERE x.superseded_at IS NULL
       SET x.superseded_at = row.at`;
    await run(close("(x:NodeVersion {version_id: row.version_id})"), plan.closed.node);
    await run(close(`()-[x:${LINK} {version_id: row.version_id}]->()`), plan.closed.link);
    for (const type of structural) {
      await run(close(`()-[x:${type} {version_id: row.version_id}]->()`), plan.closed.relationship);
    }
    for (const [label, rows] of plan.nodes) {
      // The identity node gets its label once (it may exist unlabelled: made by an endpoint).
      await run(
        `UNWIND $rows AS row
         MERGE (e:Entity {id: row.fields.id})
           ON CREATE SET e:${label}, e.iteration_id = row.fields.iteration_id,
             e.label = row.fields.label, e.key = row.fields.key
         FOREACH (_ IN CASE WHEN e.label IS NULL THEN [1] ELSE [] END |
           SET e:${label}, e.label = row.fields.label, e.key = row.fields.key)
         MERGE (x:NodeVersion {version_id: row.fields.version_id})
           ON CREATE SET x += row.props, x += row.fields
         MERGE (x)-[:VERSION_OF]->(e)`,
        rows,
      );
    }
    await run(
      `UNWIND $rows AS row
       MERGE (e:Entity {id: row.id}) ON CREATE SET e.iteration_id = row.iteration_id
       SET e.observations_json = row.observations`,
      plan.observed,
    );
    for (const [type, rows] of plan.rels) {
      await run(
        `UNWIND $rows AS row
         MERGE (a:Entity {id: row.from}) ON CREATE SET a.iteration_id = row.fields.iteration_id
         MERGE (b:Entity {id: row.to}) ON CREATE SET b.iteration_id = row.fields.iteration_id
         MERGE (a)-[x:${type} {version_id: row.fields.version_id}]->(b)
           ON CREATE SET x += row.props, x += row.fields`,
        rows,
      );
    }
  }

  async load(iterations: string[]) {
    if (iterations.length === 0) return { versions: [], observed: [] };
    const versions = await this.#select({ iterations, history: false });
    const rows = await this.#session("READ", async (tx) =>
      (await tx.run(
        `MATCH (e:Entity) WHERE e.iteration_id IN $iterations AND e.observations_json IS NOT NULL
         RETURN e.id AS id, e.iteration_id AS iteration_id, e.observations_json AS observations`,
        { iterations },
      )).records.map((r) => r.toObject()));
    const observed: EntityObservations[] = rows
      .map((r) => ({
        id: r.id as string,
        iteration_id: r.iteration_id as string,
        observations: JSON.parse(r.observations as string),
      }))
      .sort((a, b) => compareText(a.iteration_id, b.iteration_id) || compareText(a.id, b.id));
    return { versions, observed };
  }

  query(q: VersionQuery): Promise<Version[]> {
    const iterations = q.iteration_id === undefined ? undefined : [q.iteration_id];
    return this.#select({ ...q, iterations });
  }

  async #select(q: VersionQuery & { iterations?: string[] }): Promise<Version[]> {
    await this.refreshTypes();
    const where = conditions(q);
    const columns = (kind: string, key: string, from: string, to: string) =>
      `RETURN '${kind}' AS kind, x.id AS id, x.version_id AS version_id,
         x.iteration_id AS iteration_id, ${
        kind === "node" ? "x.label" : "type(x)"
      } AS label, ${key} AS key,
         ${from} AS from_id, ${to} AS to_id, x.props_json AS props, x.valid_from AS valid_from,
         x.valid_to AS valid_to, x.observed_at AS observed_at, x.superseded_at AS superseded_at`;
    const branches: string[] = [];
    if (q.kind === undefined || q.kind === "node") {
      branches.push(
        `MATCH (x:NodeVersion) ${where} ${columns("node", "x.key", "x.from_id", "x.to_id")}`,
      );
    }
    for (const type of [...this.#types].sort()) {
      const kind = type === LINK ? "link" : "relationship";
      if (q.kind !== undefined && q.kind !== kind) continue;
      branches.push(
        `MATCH (a)-[x:${type}]->(b) ${where} ${
          columns(kind, "coalesce(x.key, [])", "a.id", "b.id")
        }`,
      );
    }
    if (branches.length === 0) return [];
    const params = {
      iterations: q.iterations ?? null,
      ids: q.ids ?? null,
      known_at: q.known_at === undefined ? null : toNeo4jNumber(q.known_at),
      valid_at: q.valid_at === undefined ? null : toNeo4jNumber(q.valid_at),
    };
    const rows = await this.#session(
      "READ",
      async (tx) =>
        (await tx.run(branches.join("\nUNION ALL\n"), params)).records.map((r) => r.toObject()),
    );
    return sortVersions(rows.map(toVersion));
  }

  check(): Promise<void> {
    const { uri, database } = this.config;
    return guard(uri, () => this.driver.verifyConnectivity({ database })).then(() => {});
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  /** Relationship types with this store's schema, from the database (other runners add some). */
  async refreshTypes(): Promise<string[]> {
    const types = await this.#session("READ", async (tx) =>
      (await tx.run(
        `SHOW CONSTRAINTS YIELD name, entityType, labelsOrTypes
         WHERE entityType = 'RELATIONSHIP' AND name STARTS WITH 'ics_rel_'
         RETURN labelsOrTypes[0] AS type`,
      )).records.map((r) => r.get("type") as string));
    for (const t of types) if (REL_TYPE.test(t) && t !== "VERSION_OF") this.#types.add(t);
    return [...this.#types];
  }

  /** Schema statements, each in its own transaction (IF NOT EXISTS: safe to repeat). */
  async ensureSchema(statements: string[]): Promise<void> {
    await guard(this.config.uri, async () => {
      const session = this.driver.session({ database: this.config.database });
      try {
        for (const s of statements) await session.run(s);
      } finally {
        await session.close();
      }
    });
  }

  #session<T>(mode: "READ" | "WRITE", work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    return guard(this.config.uri, async () => {
      const session = this.driver.session({ database: this.config.database });
      try {
        return mode === "READ" ? await session.executeRead(work) : await session.executeWrite(work);
      } finally {
        await session.close();
      }
    });
  }
}

/** Transient failures (server down, leader change, deadlock) become RetriableError; others pass. */
async function guard<T>(uri: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!transient(error)) throw error;
    throw new RetriableError(`Neo4j at "${uri}" failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

function transient(error: unknown): boolean {
  // Duck-typed: the driver's error classes are not always the instances `instanceof` expects.
  const e = error as { name?: unknown; code?: unknown; retryable?: unknown } | null;
  if (typeof e?.code !== "string") return false;
  if (e.name === "Neo4jError") {
    return e.retryable === true || e.code === "ServiceUnavailable" ||
      e.code === "SessionExpired" || e.code.startsWith("Neo.TransientError.");
  }
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)$/.test(e.code);
}

interface WritePlan {
  closed: Record<Version["kind"], Row[]>;
  observed: Row[];
  nodes: Map<string, Row[]>;
  rels: Map<string, Row[]>;
}

/** Check and group a batch. Like SQLite: the first open or close of a version id wins. */
function planWrite(changes: GraphChanges): WritePlan {
  const plan: WritePlan = {
    closed: { node: [], relationship: [], link: [] },
    observed: [],
    nodes: new Map(),
    rels: new Map(),
  };
  const closing = new Set<string>();
  for (const c of changes.closed) {
    if (closing.has(c.version_id)) continue;
    closing.add(c.version_id);
    if (!plan.closed[c.kind]) {
      throw new TypeError(`Close of "${c.version_id}": unknown kind "${c.kind}"`);
    }
    plan.closed[c.kind].push({ version_id: c.version_id, at: integer(c.at, c.version_id, "at") });
  }
  const observed = new Map<string, Row>();
  for (const o of changes.observed ?? []) {
    observed.set(o.id, {
      id: o.id,
      iteration_id: o.iteration_id,
      observations: JSON.stringify(o.observations),
    });
  }
  plan.observed = [...observed.values()];
  const opening = new Set<string>();
  for (const v of changes.opened) {
    const row = toRow(v); // checked even when skipped: a broken row fails the batch, as in SQLite
    if (opening.has(v.version_id)) continue;
    opening.add(v.version_id);
    const group = v.kind === "node" ? plan.nodes : plan.rels;
    const name = v.kind === "link" ? LINK : v.label;
    group.set(name, [...group.get(name) ?? [], row]);
  }
  return plan;
}

function toRow(v: Version): Row {
  const where = `Version "${v.version_id}"`;
  for (const f of ["id", "version_id", "iteration_id", "label"] as const) {
    if (typeof v[f] !== "string") throw new TypeError(`${where}: ${f} must be a string`);
  }
  if (!Array.isArray(v.key) || v.key.some((k) => typeof k !== "string")) {
    throw new TypeError(`${where}: key must be an array of strings`);
  }
  if (v.props === null || typeof v.props !== "object" || Array.isArray(v.props)) {
    throw new TypeError(`${where}: props must be an object`);
  }
  const fields: Row = {
    id: v.id,
    version_id: v.version_id,
    iteration_id: v.iteration_id,
    label: v.label,
    key: v.key,
    props_json: JSON.stringify(v.props),
    valid_from: integer(v.valid_from, v.version_id, "valid_from"),
    valid_to: v.valid_to === null ? null : integer(v.valid_to, v.version_id, "valid_to"),
    observed_at: integer(v.observed_at, v.version_id, "observed_at"),
    superseded_at: v.superseded_at === null
      ? null
      : integer(v.superseded_at, v.version_id, "superseded_at"),
  };
  const props = flatten(v.props);
  if (v.kind === "node") {
    if (!LABEL.test(v.label) || RESERVED_LABELS.has(v.label)) {
      throw new TypeError(`${where}: "${v.label}" is not a usable node label (${LABEL})`);
    }
    return { fields: { ...fields, from_id: v.from ?? null, to_id: v.to ?? null }, props };
  }
  if (v.kind !== "relationship" && v.kind !== "link") {
    throw new TypeError(`${where}: unknown kind "${v.kind}"`);
  }
  if (
    v.kind === "link" ? v.label !== LINK : !REL_TYPE.test(v.label) || RESERVED_TYPES.has(v.label)
  ) {
    throw new TypeError(`${where}: "${v.label}" is not a usable ${v.kind} type (${REL_TYPE})`);
  }
  if (typeof v.from !== "string" || typeof v.to !== "string") {
    throw new TypeError(`${where}: a ${v.kind} needs from and to`);
  }
  delete fields.label; // the relationship type
  if (v.key.length === 0) delete fields.key;
  return { fields, props, from: v.from, to: v.to };
}

/** An epoch-ms value as a Neo4j integer (SQLite's STRICT INTEGER columns refuse anything else). */
function integer(value: unknown, versionId: string, field: string) {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(
      `Version "${versionId}": ${field} must be an integer (epoch ms), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return BigInt(value); // sent as a Bolt INTEGER (a JS number would be a FLOAT)
}

const toNeo4jNumber = (n: number) => Number.isSafeInteger(n) ? BigInt(n) : n;

/** Props as Neo4j properties: scalars and one-type scalar lists as they are, the rest as JSON. */
function flatten(props: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(props)) {
    // Not as properties: system names, and names Neo4j refuses as tokens (empty, NUL).
    if (SYSTEM.has(name) || !name || name.includes("\0") || value == null) continue;
    const t = typeof value;
    if (t === "string" || t === "boolean" || (t === "number" && Number.isFinite(value))) {
      out[name] = value;
    } else if (
      Array.isArray(value) && value.length > 0 &&
      value.every((x) => typeof x === typeof value[0]) &&
      ["string", "boolean", "number"].includes(typeof value[0]) &&
      value.every((x) => typeof x !== "number" || Number.isFinite(x))
    ) {
      out[name] = value;
    } else if (t !== "function" && t !== "symbol") {
      out[name] = JSON.stringify(value);
    }
  }
  return out;
}

function conditions(q: VersionQuery & { iterations?: string[] }): string {
  const c: string[] = [];
  if (q.iterations !== undefined) c.push("x.iteration_id IN $iterations");
  if (q.ids?.length) c.push("x.id IN $ids");
  if (q.known_at !== undefined) {
    c.push(
      "x.observed_at <= $known_at AND (x.superseded_at IS NULL OR x.superseded_at > $known_at)",
    );
  } else if (!q.history) {
    c.push("x.superseded_at IS NULL");
  }
  if (q.valid_at !== undefined) {
    c.push("x.valid_from <= $valid_at AND (x.valid_to IS NULL OR x.valid_to > $valid_at)");
  }
  return c.length ? `WHERE ${c.join(" AND ")}` : "";
}

function toVersion(r: Row): Version {
  return {
    kind: r.kind as Version["kind"],
    id: r.id as string,
    version_id: r.version_id as string,
    iteration_id: r.iteration_id as string,
    label: r.label as string,
    key: r.key as string[],
    from: (r.from_id as string | null) ?? undefined,
    to: (r.to_id as string | null) ?? undefined,
    props: JSON.parse(r.props as string),
    valid_from: r.valid_from as number,
    valid_to: r.valid_to as number | null,
    observed_at: r.observed_at as number,
    superseded_at: r.superseded_at as number | null,
  };
}

/** SQLite's `ORDER BY kind, label, key, valid_from, observed_at` (BINARY), then version_id. */
export function sortVersions(versions: Version[]): Version[] {
  return versions
    .map((v) => ({ v, key: JSON.stringify(v.key) }))
    .sort((a, b) =>
      compareText(a.v.kind, b.v.kind) || compareText(a.v.label, b.v.label) ||
      compareText(a.key, b.key) || a.v.valid_from - b.v.valid_from ||
      a.v.observed_at - b.v.observed_at || compareText(a.v.version_id, b.v.version_id)
    )
    .map((x) => x.v);
}

/** Code point order, which is UTF-8 byte order (SQLite's BINARY collation); JS `<` is UTF-16's. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF in code point order. */
const rank = (c: number) => c >= 0xd800 ? (c < 0xe000 ? c + 0x2000 : c - 0x800) : c;
