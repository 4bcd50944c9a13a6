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
import type { ComponentDef, GraphStore, VersionQuery } from "../../core/component.ts";
import type { EntityObservations, GraphChanges, Version } from "../../core/types.ts";
import { PermanentError, RetriableError } from "../../core/errors.ts";
import { readConfigFile, readSecret, redact } from "../../core/secrets.ts";
import {
  conditions,
  LINK,
  planWrite,
  REL_TYPE,
  type Row,
  toNeo4jNumber,
  toVersion,
  type WritePlan,
} from "./_rows.ts";
import { compareText, sortVersions } from "./_order.ts";
import { fault } from "../../core/fault.ts";
import { allowErrorPrototypeFix } from "./_proto.ts";

export { compareText, sortVersions };

export const schema = z.strictObject({
  type: z.literal("neo4j"),
  uri: z.string().regex(
    /^(bolt|neo4j)(\+s|\+ssc)?:\/\//,
    "must be a bolt://, neo4j://, bolt+s:// or neo4j+s:// URI",
  ).default("bolt://127.0.0.1:7687").describe(
    "Bolt URI of the server, e.g. bolt://127.0.0.1:7687 (neo4j:// for a cluster). " +
      "bolt+s:// and neo4j+s:// encrypt, verified against the system CAs; +ssc accepts any " +
      "certificate.",
  ),
  user: z.string().optional().describe(
    "User name; leave out (or empty) when authentication is disabled.",
  ),
  password: z.string().optional().describe(
    'Password, from the environment: "${NEO4J_PASSWORD}" (or use password_file).',
  ),
  password_file: z.string().min(1).optional().describe(
    "File holding the password (e.g. /run/secrets/neo4j); relative to the spec's folder.",
  ),
  encrypted: z.boolean().default(false).describe(
    "Encrypt a bolt:// or neo4j:// connection (TLS), verified against ca_file or the system CAs.",
  ),
  ca_file: z.string().min(1).optional().describe(
    "PEM file of the CA that signed the server's certificate (with encrypted: true).",
  ),
  database: z.string().min(1).default("neo4j").describe("Database to write to."),
  batch_size: z.number().int().min(1).max(100_000).default(5000).describe(
    "Rows per UNWIND statement; a batch is still one transaction.",
  ),
}).refine((c) => !(c.password !== undefined && c.password_file !== undefined), {
  message: "give the password as password or password_file, not both",
  path: ["password_file"],
}).refine((c) => !(c.ca_file && !c.encrypted), {
  message: "ca_file needs encrypted: true",
  path: ["ca_file"],
}).refine((c) => !(c.encrypted && /^\w+\+/.test(c.uri)), {
  message: "a +s or +ssc URI is already encrypted: leave out encrypted and ca_file",
  path: ["encrypted"],
}).describe("Bi-temporal graph in Neo4j 5 (Community or Enterprise).");

export type Neo4jGraphConfig = z.infer<typeof schema>;

export const neo4jGraph: ComponentDef<typeof schema, GraphStore> = {
  type: "neo4j",
  schema,
  create: (config) => openNeo4jGraph(config),
};

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
  allowErrorPrototypeFix(); // the driver's errors are Neo4jErrors, and Deno notes nothing
  const { default: neo4j } = await import("neo4j-driver");
  const { user, password, ...security } = await driverOptions(config);
  const auth = user !== undefined ? neo4j.auth.basic(user, password ?? "") : undefined;
  const driver = neo4j.driver(config.uri, auth, {
    disableLosslessIntegers: true,
    // The runtime retries, with backoff it reports (/readyz, ics_component_up, a log line per
    // attempt). The driver's own retry would hide an outage for its first seconds; under Deno it
    // never fired before its errors were made instances of Neo4jError again (see _proto.ts).
    maxTransactionRetryTime: 0,
    connectionTimeout: 10_000,
    ...security,
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

/**
 * Credentials (user undefined: no authentication) and the driver's TLS settings. A +s/+ssc URI
 * carries its own, and the driver rejects both at once.
 */
export async function driverOptions(config: Neo4jGraphConfig): Promise<{
  user?: string;
  password?: string;
  encrypted?: "ENCRYPTION_ON";
  trust?: "TRUST_CUSTOM_CA_SIGNED_CERTIFICATES" | "TRUST_SYSTEM_CA_SIGNED_CERTIFICATES";
  trustedCertificates?: string[];
}> {
  const password = await readSecret(config.password, config.password_file, "neo4j password_file");
  const user = config.user || (password ? "neo4j" : undefined);
  if (!config.encrypted) return { user, password };
  if (config.ca_file) await readConfigFile(config.ca_file, "neo4j ca_file"); // a clear error first
  return {
    user,
    password,
    encrypted: "ENCRYPTION_ON",
    ...(config.ca_file
      ? { trust: "TRUST_CUSTOM_CA_SIGNED_CERTIFICATES", trustedCertificates: [config.ca_file] }
      : { trust: "TRUST_SYSTEM_CA_SIGNED_CERTIFICATES" }),
  };
}

class Neo4jGraph implements GraphStore {
  /** Relationship types whose schema exists (CORRELATES included). */
  #types = new Set<string>([LINK]);
  /** When #types was last read from the database (performance.now()). */
  #typesAt = -Infinity;

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
    fault("graph_tx");
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

  async iterations(): Promise<string[]> {
    const rows = await this.#session(
      "READ",
      async (tx) =>
        (await tx.run(`MATCH (e:Entity) RETURN DISTINCT e.iteration_id AS id`)).records
          .map((r) => r.get("id") as string),
    );
    return rows.sort(compareText);
  }

  query(q: VersionQuery): Promise<Version[]> {
    const iterations = q.iteration_id === undefined ? undefined : [q.iteration_id];
    return this.#select({ ...q, iterations });
  }

  async #select(q: VersionQuery & { iterations?: string[] }): Promise<Version[]> {
    // Types another runner added show up within seconds; asking on every read (every reload of an
    // iteration) cost a schema query per call while batches were being written.
    if (performance.now() - this.#typesAt > 10_000) await this.refreshTypes();
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
    // Only what ics wrote: nodes or relationships of these types written by others (no version
    // id, label or key) are not versions and are left out.
    const ours = rows.filter((r) =>
      typeof r.version_id === "string" && typeof r.label === "string" && Array.isArray(r.key)
    );
    return sortVersions(ours.map(toVersion));
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
    this.#typesAt = performance.now();
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

/**
 * Transient failures (server down, leader change, deadlock, timeout) become RetriableError, the
 * server refusing the data (a value too large to index, a broken constraint) PermanentError;
 * others (authentication, a missing database) keep their class and code, their message naming
 * the server, and stop the run.
 */
async function guard<T>(uri: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const where = redact(uri);
    const message = redact((error as Error)?.message ?? String(error));
    if (transient(error)) {
      throw new RetriableError(`Neo4j at "${where}" failed: ${message}`, { cause: error });
    }
    if (refused(error)) {
      throw new PermanentError(`Neo4j at "${where}" failed: ${message}`, { cause: error });
    }
    if (!(error instanceof Error)) throw new Error(`Neo4j at "${where}": ${message}`);
    if (!error.message.startsWith("Neo4j at ")) error.message = `Neo4j at "${where}": ${message}`;
    throw error;
  }
}

/** Codes of statements that fail because of the values they carry. */
const DATA_ERROR =
  /^Neo\.ClientError\.(Statement\.(TypeError|ArgumentError|ArithmeticError)|Schema\.ConstraintValidationFailed)$/;

function refused(error: unknown): boolean {
  const e = error as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.name !== "Neo4jError" || typeof e.code !== "string") return false;
  // Neo4j 5 reports an index key over its size limit as a database error.
  return DATA_ERROR.test(e.code) ||
    (e.code === "Neo.DatabaseError.Statement.ExecutionFailed" &&
      /too large to index/.test(String(e.message)));
}

function transient(error: unknown): boolean {
  // Duck-typed: the driver's error classes are not always the instances `instanceof` expects.
  const e = error as { name?: unknown; code?: unknown; retryable?: unknown } | null;
  if (typeof e?.code !== "string") return false;
  if (e.name === "Neo4jError") {
    return e.retryable === true || e.code === "ServiceUnavailable" ||
      e.code === "SessionExpired" || e.code.startsWith("Neo.TransientError.");
  }
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH)$/.test(e.code);
}
