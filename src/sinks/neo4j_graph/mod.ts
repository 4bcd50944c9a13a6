/**
 * Neo4j graph store (services target): the bi-temporal versions of the SQLite store, as a graph.
 *
 * ```
 * (:Entity:<Label> {id, iteration_id, label, key})                           one node per entity
 * (:NodeVersion {<props>, valid_from, valid_to, observed_at, superseded_at,
 *                observations_json})-[:VERSION_OF]->(:Entity)
 * (:Entity)-[:<TYPE> {valid_from, valid_to, observed_at, superseded_at}]->(:Entity)
 * (:Entity)-[:CORRELATES {confidence, policy, rules, valid_from, ...}]->(:Entity)
 * ```
 *
 * - An entity has one identity node (uniqueness on `id`, the fact id) carrying its label; each
 *   node version hangs off it. Structural relationships and correlation links are relationships
 *   between identity nodes, one per version, so `MATCH (:Entity)-[r:HAS_TASK]->(:Entity) WHERE
 *   r.superseded_at IS NULL` reads naturally. Times are integer epoch ms.
 * - A version is written as little as a fact allows: its props as properties (scalars and lists of
 *   one scalar type as they are; anything else as JSON text, named in `json_props`) and its four
 *   times. Its identity is its fact and its two times (valid_from, observed_at): the version id
 *   (`${id}@${valid_from}@${observed_at}`) and a relationship's fact id are derived on reading,
 *   never stored. So a version is found from its entity (or its endpoints) through the entity's
 *   one index, and writes keep no index on versions at all: one uniqueness constraint (`Entity.id`)
 *   and one index (`Entity.iteration_id`) are the whole schema.
 * - A node version also holds the observations its period was folded from (`observations_json`):
 *   the graph model's restart state, written with the version and never rewritten per batch.
 * - Writes are idempotent: `MERGE` of identity nodes, and of each version by its two times from its
 *   entity or between its endpoints (an expansion, no index). Labels and types come from the spec
 *   and are checked against strict patterns before they appear in Cypher; every value is a
 *   parameter. A batch is one transaction of `UNWIND` statements, one per label or type.
 * - `query()` orders as the SQLite store does (kind, label, key text, valid_from, observed_at, by
 *   code point), then by version_id so that the order is total.
 * - Versions written by earlier versions of this store (with `version_id`, `props_json` and per
 *   type indexes) are read as before; the indexes those created are dropped at start.
 * @module
 */
import { z } from "zod";
// The client is loaded on first use: the embedded target never pays for it.
import type { Driver, ManagedTransaction } from "neo4j-driver";
import type {
  ComponentDef,
  Fence,
  GraphReader,
  GraphStore,
  VersionQuery,
} from "../../core/component.ts";
import type { GraphChanges, Version } from "../../core/types.ts";
import { FencedError, PermanentError, RetriableError } from "../../core/errors.ts";
import { readConfigFile, readSecret, redact } from "../../core/secrets.ts";
import { caFile, notBothPasswords, passwordFields } from "../../core/connection.ts";
import {
  conditions,
  LINK,
  planWrite,
  type Row,
  toNeo4jNumber,
  toVersion,
  type WritePlan,
} from "./_rows.ts";
import { compareText, sortVersions } from "./_order.ts";
import { armed, fault } from "../../core/fault.ts";
import { yieldToLoop } from "../../core/breathe.ts";
import { allowErrorPrototypeFix } from "./_proto.ts";
import { neo4jReader } from "./_reads.ts";

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
  ...passwordFields("neo4j"),
  encrypted: z.boolean().default(false).describe(
    "Encrypt a bolt:// or neo4j:// connection (TLS), verified against ca_file or the system CAs.",
  ),
  ca_file: caFile(" (with encrypted: true)"),
  database: z.string().min(1).default("neo4j").describe("Database to write to."),
  batch_size: z.number().int().min(1).max(100_000).default(1000).describe(
    "Rows per UNWIND statement; a batch is still one transaction (its statements are sent " +
      "together, each packed in one go: fewer rows hold the event loop for less).",
  ),
  transaction_timeout_ms: z.number().int().min(1000).default(60_000).describe(
    "Longest a transaction may take: the server ends it after this (its transaction timeout), " +
      "and a call without an answer this long after (a connection gone silent) fails and is " +
      "retried on new connections.",
  ),
}).check(notBothPasswords).refine((c) => !(c.ca_file && !c.encrypted), {
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

/** The whole schema: identity nodes are unique by id and found by iteration. */
const SCHEMA = [
  "CREATE CONSTRAINT ics_entity_id IF NOT EXISTS FOR (x:Entity) REQUIRE x.id IS UNIQUE",
  "CREATE INDEX ics_entity_iteration_id IF NOT EXISTS FOR (x:Entity) ON (x.iteration_id)",
  // One lease per part of the input (a consumer group's partition) a runner claims: fencing.
  "CREATE CONSTRAINT ics_lease_part IF NOT EXISTS FOR (x:IcsLease) REQUIRE x.part IS UNIQUE",
];
const KEEP = new Set(["ics_entity_id", "ics_entity_iteration_id", "ics_lease_part"]);

/**
 * What a caller may watch besides the metrics (benches): each write statement's rows and the time
 * from the previous statement's answer to its own (statements are pipelined: see `#apply`).
 */
export interface Neo4jGraphOptions {
  onStatement?: (name: string, rows: number, ms: number) => void;
}

/** Connect, check the server and create the schema; RetriableError when it is unreachable. */
export async function openNeo4jGraph(
  config: Neo4jGraphConfig,
  options: Neo4jGraphOptions = {},
): Promise<GraphStore> {
  allowErrorPrototypeFix(); // the driver's errors are Neo4jErrors, and Deno notes nothing
  const { default: neo4j } = await import("neo4j-driver");
  const { user, password, ...security } = await driverOptions(config);
  const auth = user !== undefined ? neo4j.auth.basic(user, password ?? "") : undefined;
  const connect = () =>
    neo4j.driver(config.uri, auth, {
      disableLosslessIntegers: true,
      // The runtime retries, with backoff it reports (/readyz, ics_component_up, a log line per
      // attempt). The driver's own retry would hide an outage for its first seconds; under Deno
      // it never fired before its errors were made instances of Neo4jError again (_proto.ts).
      maxTransactionRetryTime: 0,
      connectionTimeout: 10_000,
      ...security,
    });
  const store = new Neo4jGraph(connect, config, options);
  try {
    await store.check();
    await store.ensureSchema();
  } catch (error) {
    await store.close();
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

/** A node version, from its entity. */
const NODE_VERSION =
  "(:Entity {id: row.id})<-[:VERSION_OF]-(x:NodeVersion {valid_from: row.vf, observed_at: row.oa})";
class Neo4jGraph implements GraphStore {
  /** The driver: replaced by a new one when a call finds its connection silent. */
  driver: Driver;

  constructor(
    readonly connect: () => Driver,
    readonly config: Neo4jGraphConfig,
    readonly options: Neo4jGraphOptions = {},
  ) {
    this.driver = connect();
  }

  /**
   * The read side (`_reads.ts`): each question one auto-commit read, one round trip (a read
   * transaction takes a second one to commit, which halves what a loaded server answers).
   */
  readonly #reader: GraphReader = neo4jReader((cypher, params) =>
    guard(this.config.uri, async () => {
      const session = this.driver.session({
        database: this.config.database,
        defaultAccessMode: "READ",
      });
      try {
        return (await session.run(cypher, params, { timeout: this.config.transaction_timeout_ms }))
          .records.map((r) => r.toObject());
      } finally {
        await session.close();
      }
    })
  );
  readIterations: GraphReader["readIterations"] = (q) => this.#reader.readIterations(q);
  countIteration: GraphReader["countIteration"] = (q) => this.#reader.countIteration(q);
  readEntities: GraphReader["readEntities"] = (q) => this.#reader.readEntities(q);
  readNodes: GraphReader["readNodes"] = (q) => this.#reader.readNodes(q);
  readRelationships: GraphReader["readRelationships"] = (q) => this.#reader.readRelationships(q);
  relationshipsOf: GraphReader["relationshipsOf"] = (q) => this.#reader.relationshipsOf(q);
  readLinks: GraphReader["readLinks"] = (q) => this.#reader.readLinks(q);
  linksOf: GraphReader["linksOf"] = (q) => this.#reader.linksOf(q);

  async write(changes: GraphChanges, fence?: Fence): Promise<void> {
    const plan = planWrite(changes);
    await this.#session("WRITE", async (tx) => {
      // Every statement is sent at once and answered in order (Bolt pipelining): one round trip
      // per transaction, not one per statement, so a busy event loop delays a write once. The
      // fence's check runs first on the server (its lease locked before anything is written),
      // and its answer is read before the transaction may commit.
      const lost = fence ? this.#check(tx, fence) : Promise.resolve();
      const written = this.#apply(tx, plan);
      await Promise.all([lost, written]);
    });
  }

  /**
   * Claim parts for an owner: each lease's epoch goes up by one. Its write lock makes a claim
   * and a fenced write of the same part wait for each other: whichever commits second sees the
   * other's effect.
   */
  async claim(parts: string[], owner: string): Promise<Record<string, number>> {
    if (parts.length === 0) return {};
    const rows = await this.#session("WRITE", async (tx) =>
      (await tx.run(
        `UNWIND $parts AS part
         MERGE (l:IcsLease {part: part})
         SET l.epoch = coalesce(l.epoch, 0) + 1, l.owner = $owner, l.claimed_at = timestamp()
         RETURN l.part AS part, l.epoch AS epoch`,
        { parts, owner },
      )).records.map((r) => [r.get("part") as string, r.get("epoch") as number] as const));
    return Object.fromEntries(rows);
  }

  /** Inside the write: every claim still holds (the lease is locked until the write commits). */
  async #check(tx: ManagedTransaction, fence: Fence) {
    const claims = Object.entries(fence.claims).map(([part, epoch]) => ({ part, epoch }));
    if (claims.length === 0) return;
    const lost = (await tx.run(
      `UNWIND $claims AS c
       MATCH (l:IcsLease {part: c.part})
       SET l.written_at = timestamp()
       WITH l, c WHERE l.owner <> $owner OR l.epoch <> c.epoch
       RETURN l.part AS part, l.owner AS owner, l.epoch AS epoch`,
      { claims, owner: fence.owner },
    )).records.map((r) => `"${r.get("part")}" (now epoch ${r.get("epoch")})`);
    if (lost.length) {
      throw new FencedError(
        `another runner claimed ${lost.join(", ")} since this one did: its write is refused`,
      );
    }
  }

  /**
   * Node versions in one statement whatever their labels (Neo4j 5.26's dynamic labels take them
   * as a parameter: `SET e:$(row.label)`); relationship versions one statement per type, the type
   * in the text (checked against the spec's pattern by `planWrite`). A dynamic type
   * (`[x:$(row.type)]`) would be one statement too, but its MERGE cannot use the typed degree of
   * its endpoints: on a young graph the planner then scans every relationship for each row
   * (DirectedAllRelationshipsScan, 28.9M rows for the 3,029 of one batch: 10.5 s instead of 0.2).
   */
  async #apply(tx: ManagedTransaction, plan: WritePlan): Promise<void> {
    const watch = this.options.onStatement;
    const sent: Promise<unknown>[] = [];
    let last = performance.now();
    // The driver packs a statement's rows (synchronously, in one go) once it is sent: the loop
    // gets a turn after each statement, so a transaction's rows are not packed in one burst.
    const run = async (name: string, cypher: string, rows: Row[]) => {
      for (let i = 0; i < rows.length; i += this.config.batch_size) {
        const chunk = rows.slice(i, i + this.config.batch_size);
        // Answered in order: the time since the previous answer is this statement's.
        const answered = tx.run(cypher, { rows: chunk }).then(() => {
          const now = performance.now();
          watch?.(name, chunk.length, now - last);
          last = now;
        });
        answered.catch(() => {}); // a failure is seen by Promise.all below, not as unhandled
        sent.push(answered);
        await yieldToLoop();
      }
    };
    const closing = `WHERE x.superseded_at IS NULL SET x.superseded_at = row.at`;
    await run(
      "close nodes",
      `UNWIND $rows AS row MATCH ${NODE_VERSION} ${closing}`,
      plan.closed.node,
    );
    for (const [type, rows] of plan.closed.rels) {
      await run(
        "close relationships",
        `UNWIND $rows AS row
         MATCH (:Entity {id: row.from})-[x:\`${type}\` {valid_from: row.vf, observed_at: row.oa}]->
           (:Entity {id: row.to})
         ${closing}`,
        rows,
      );
    }
    await run(
      "observations",
      `UNWIND $rows AS row MATCH ${NODE_VERSION} SET x.observations_json = row.obs`,
      plan.observed,
    );
    // The identity node gets its label once (it may exist unlabelled: made by an endpoint).
    await run(
      "nodes",
      `UNWIND $rows AS row
       MERGE (e:Entity {id: row.id})
         ON CREATE SET e.iteration_id = row.iteration_id
       FOREACH (_ IN CASE WHEN e.label IS NULL THEN [1] ELSE [] END |
         SET e:$(row.label), e.label = row.label, e.key = row.key)
       MERGE (e)<-[:VERSION_OF]-(x:NodeVersion {valid_from: row.vf, observed_at: row.oa})
         ON CREATE SET x += row.set`,
      [...plan.nodes.values()].flat(),
    );
    // The crash tests kill here with some statements run: wait for them when that is asked.
    if (armed("graph_tx")) await Promise.all(sent);
    fault("graph_tx");
    for (const [type, rows] of plan.rels) {
      await run(
        "relationships",
        `UNWIND $rows AS row
         MERGE (a:Entity {id: row.from}) ON CREATE SET a.iteration_id = row.iteration_id
         MERGE (b:Entity {id: row.to}) ON CREATE SET b.iteration_id = row.iteration_id
         MERGE (a)-[x:\`${type}\` {valid_from: row.vf, observed_at: row.oa}]->(b)
           ON CREATE SET x += row.set`,
        rows,
      );
    }
    await Promise.all(sent);
  }

  async load(iterations: string[]) {
    if (iterations.length === 0) return { versions: [] };
    return { versions: await this.#select({ iterations, history: false }) };
  }

  async iterations(): Promise<string[]> {
    const rows = await this.#session(
      "READ",
      async (tx) =>
        (await tx.run(`MATCH (e:Entity) RETURN DISTINCT e.iteration_id AS id`)).records
          .map((r) => r.get("id") as string),
    );
    return rows.filter((id) => typeof id === "string").sort(compareText);
  }

  query(q: VersionQuery): Promise<Version[]> {
    const iterations = q.iteration_id === undefined ? undefined : [q.iteration_id];
    return this.#select({ ...q, iterations });
  }

  async #select(q: VersionQuery & { iterations?: string[] }): Promise<Version[]> {
    const on = conditions(q);
    const where = (extra: string[]) => {
      const all = [...extra, ...on];
      return all.length ? `WHERE ${all.join(" AND ")}` : "";
    };
    const scope = (v: string) =>
      q.iterations !== undefined ? [`${v}.iteration_id IN $iterations`] : [];
    const branches: string[] = [];
    if (q.kind === undefined || q.kind === "node") {
      const ids = q.ids?.length ? ["e.id IN $ids"] : [];
      branches.push(
        `MATCH (e:Entity)<-[:VERSION_OF]-(x:NodeVersion) ${where([...scope("e"), ...ids])}
         RETURN 'node' AS kind, e.id AS id, e.iteration_id AS iteration_id, e.label AS label,
           e.key AS key, null AS from_id, null AS to_id, properties(x) AS p`,
      );
    }
    if (q.kind !== "node") {
      const type = q.kind === "link"
        ? [`type(x) = '${LINK}'`]
        : q.kind === "relationship"
        ? [`type(x) <> '${LINK}'`]
        : [];
      branches.push(
        `MATCH (a:Entity)-[x]->(b:Entity) ${where([...scope("a"), ...type])}
         RETURN CASE type(x) WHEN '${LINK}' THEN 'link' ELSE 'relationship' END AS kind,
           null AS id, a.iteration_id AS iteration_id, type(x) AS label, null AS key,
           a.id AS from_id, b.id AS to_id, properties(x) AS p`,
      );
    }
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
    // Only what ics wrote: relationships between entities of other writers (no times, no
    // iteration) are not versions and are left out.
    const ours = rows.filter((r) =>
      typeof r.iteration_id === "string" && typeof r.label === "string" &&
      typeof (r.p as Row).valid_from === "number" && typeof (r.p as Row).observed_at === "number" &&
      (r.kind !== "node" || Array.isArray(r.key))
    );
    let versions = ours.map(toVersion);
    // Relationship fact ids are derived, so an id filter on them applies here.
    if (q.ids?.length && q.kind !== "node") {
      const ids = new Set(q.ids);
      versions = versions.filter((v) => v.kind === "node" || ids.has(v.id));
    }
    return sortVersions(versions);
  }

  check(): Promise<void> {
    const { uri, database } = this.config;
    return guard(uri, () => this.driver.verifyConnectivity({ database })).then(() => {});
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  /**
   * Create the schema (IF NOT EXISTS: safe to repeat), each statement in its own transaction, and
   * drop the version indexes and constraints earlier versions of this store made (`ics_` names):
   * nothing reads them any more, and every write paid for them.
   */
  async ensureSchema(): Promise<void> {
    await guard(this.config.uri, async () => {
      const session = this.driver.session({ database: this.config.database });
      try {
        for (const s of SCHEMA) await session.run(s);
        const old = await session.run(
          `SHOW INDEXES YIELD name, owningConstraint WHERE name STARTS WITH 'ics_'
           RETURN name, owningConstraint`,
        );
        for (const r of old.records) {
          const name = r.get("name") as string, owner = r.get("owningConstraint") as string | null;
          if (KEEP.has(name) || (owner && KEEP.has(owner))) continue;
          await session.run(
            owner ? `DROP CONSTRAINT \`${owner}\` IF EXISTS` : `DROP INDEX \`${name}\` IF EXISTS`,
          );
        }
      } finally {
        await session.close();
      }
    });
  }

  /**
   * A transaction, with the server's transaction timeout set, and a watchdog: a call without any
   * answer past that (the connection went silent, e.g. a network partition: the driver has no
   * read timeout of its own) fails as RetriableError and the driver is replaced, so the retry
   * runs on new connections. A transaction abandoned that way may still commit on the server:
   * writes are idempotent (MERGE of versions by their fact and times), and fenced.
   */
  #session<T>(mode: "READ" | "WRITE", work: (tx: ManagedTransaction) => Promise<T>): Promise<T> {
    const timeout = this.config.transaction_timeout_ms;
    const driver = this.driver;
    return guard(this.config.uri, async () => {
      const session = driver.session({ database: this.config.database });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const silent = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          if (this.driver === driver) {
            this.driver = this.connect();
            driver.close().catch(() => {});
          }
          reject(new RetriableError(`no answer within ${(timeout + 5000) / 1000} s`));
        }, timeout + 5000);
      });
      try {
        const config = { timeout };
        return await Promise.race([
          mode === "READ" ? session.executeRead(work, config) : session.executeWrite(work, config),
          silent,
        ]);
      } finally {
        clearTimeout(timer);
        session.close().catch(() => {});
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
    // A transaction the server ended at its timeout (transaction_timeout_ms) may succeed again.
    return e.retryable === true || e.code === "ServiceUnavailable" ||
      e.code === "SessionExpired" || e.code.startsWith("Neo.TransientError.") ||
      /^Neo\.ClientError\.Transaction\.TransactionTimedOut/.test(e.code);
  }
  return /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH)$/.test(e.code);
}
