/**
 * SQLite graph store (embedded target). One table of bi-temporal versions for nodes, structural
 * relationships and correlation links, plus views of what is believed now. A batch is one
 * transaction; WAL mode keeps the file consistent if the process is killed mid-write (see
 * `_sqlite.ts` for what each durability setting survives).
 * @module
 */
import { z } from "zod";
import type { SQLInputValue } from "node:sqlite";
import { dirname, resolve } from "node:path";
import type { ComponentDef, GraphStore, VersionQuery } from "../core/component.ts";
import type { Version } from "../core/types.ts";
import type { Durability } from "../core/durable.ts";
import { openDatabase, pragmas } from "./_sqlite.ts";
import { sqliteWriter, type Step } from "./_sqlite_writer.ts";
import { READ_INDEXES, sqliteReader } from "./_sqlite_graph_reads.ts";
import { storedObservations } from "../graph/mod.ts";

export const schema = z.strictObject({
  type: z.literal("sqlite"),
  path: z.string().min(1).default("graph.db").describe(
    "Database file, relative to the state folder.",
  ),
}).describe("Bi-temporal graph in a local SQLite file.");

/** The pragmas of the default durability (`process`): WAL, `synchronous = NORMAL`. */
export const PRAGMAS = pragmas();

const DDL = `
CREATE TABLE IF NOT EXISTS versions (
  version_id    TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,      -- node | relationship | link
  id            TEXT NOT NULL,      -- stable fact id
  iteration_id  TEXT NOT NULL,
  label         TEXT NOT NULL,      -- node label, relationship type, CORRELATES
  key           TEXT NOT NULL,      -- natural key (JSON array), nodes only
  from_id       TEXT,
  to_id         TEXT,
  props         TEXT NOT NULL,      -- JSON
  valid_from    INTEGER NOT NULL,
  valid_to      INTEGER,
  observed_at   INTEGER NOT NULL,
  superseded_at INTEGER,
  -- Internal state, not part of the graph: the observations a node version's period was folded
  -- from (JSON [{time, props}]), so a restarted runner re-folds late events exactly.
  observations  TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS versions_current ON versions (iteration_id, kind) WHERE superseded_at IS NULL;
CREATE INDEX IF NOT EXISTS versions_fact ON versions (id);
CREATE VIEW IF NOT EXISTS nodes AS
  SELECT id, iteration_id, label, key, props, valid_from, valid_to, observed_at FROM versions
  WHERE kind = 'node' AND superseded_at IS NULL;
CREATE VIEW IF NOT EXISTS relationships AS
  SELECT id, iteration_id, label AS type, from_id, to_id, valid_from, observed_at FROM versions
  WHERE kind = 'relationship' AND superseded_at IS NULL;
CREATE VIEW IF NOT EXISTS links AS
  SELECT id, iteration_id, from_id, to_id, json_extract(props, '$.confidence') AS confidence,
         json_extract(props, '$.rules') AS rules, json_extract(props, '$.policy') AS policy,
         valid_from, observed_at FROM versions
  WHERE kind = 'link' AND superseded_at IS NULL;
`;

export const sqlite: ComponentDef<typeof schema, GraphStore> = {
  type: "sqlite",
  schema,
  create(config, ctx) {
    const path = resolve(ctx.stateDir, config.path);
    Deno.mkdirSync(dirname(path), { recursive: true });
    return Promise.resolve(openSqliteGraph(path, ctx.durability));
  },
};

// ON CONFLICT, not OR IGNORE: a replayed version is skipped, a broken row still fails the batch.
const INSERT = `INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (version_id) DO NOTHING`;
const OBSERVE = `UPDATE versions SET observations = ? WHERE version_id = ?`;
const CLOSE =
  `UPDATE versions SET superseded_at = ? WHERE version_id = ? AND superseded_at IS NULL`;

export function openSqliteGraph(path: string, durability?: Durability): GraphStore {
  const db = openDatabase(path, DDL + READ_INDEXES, durability);
  // A graph.db of an earlier version kept observations in a table of their own.
  const columns = db.prepare(`PRAGMA table_info(versions)`).all().map((c) => c.name);
  if (!columns.includes("observations")) {
    db.exec(`ALTER TABLE versions ADD COLUMN observations TEXT`);
  }
  // Writes run on a worker (`_sqlite_writer.ts`); this connection reads what they committed.
  const writer = sqliteWriter(db, path, [CLOSE, OBSERVE, INSERT], durability);
  return {
    ...sqliteReader(db, toVersion),
    async write(changes) {
      // The rows are made here, the statements run on the worker, in this order, in one
      // transaction: closes, observations, then (after the crash tests' fault point) inserts.
      const closed: SQLInputValue[] = [];
      for (const c of changes.closed) closed.push(c.at, c.version_id);
      const observed: SQLInputValue[] = [];
      for (const o of changes.observed ?? []) {
        observed.push(JSON.stringify(o.observations), o.version_id);
      }
      const opened: SQLInputValue[] = [];
      for (const v of changes.opened) {
        opened.push(
          v.version_id,
          v.kind,
          v.id,
          v.iteration_id,
          v.label,
          JSON.stringify(v.key),
          v.from ?? null,
          v.to ?? null,
          JSON.stringify(v.props),
          v.valid_from,
          v.valid_to,
          v.observed_at,
          v.superseded_at,
          stored(v),
        );
      }
      const steps: Step[] = [
        { statement: 0, width: 2, values: closed },
        { statement: 1, width: 2, values: observed },
        { fault: "graph_tx" },
        { statement: 2, width: 14, values: opened },
      ];
      await writer.write(steps);
    },
    async load(iterations) {
      if (iterations.length === 0) return { versions: [] };
      const marks = iterations.map(() => "?").join(",");
      const rows = db.prepare(
        `SELECT * FROM versions WHERE superseded_at IS NULL AND iteration_id IN (${marks})`,
      ).all(...iterations);
      return await Promise.resolve({ versions: rows.map(toVersion) });
    },
    async iterations() {
      const rows = db.prepare(`SELECT DISTINCT iteration_id FROM versions ORDER BY 1`).all();
      return await Promise.resolve(rows.map((r) => r.iteration_id as string));
    },
    async query(q) {
      const { sql, params } = buildQuery(q);
      return await Promise.resolve(db.prepare(sql).all(...params).map(toVersion));
    },
    check: () => Promise.resolve(),
    async close() {
      try {
        await writer.close();
      } finally {
        db.close();
      }
    },
  };
}

/** Versions matching a query; the bi-temporal as-of condition is the heart of time travel. */
function buildQuery(q: VersionQuery): { sql: string; params: SQLInputValue[] } {
  const where: string[] = [];
  const params: SQLInputValue[] = [];
  if (q.iteration_id !== undefined) where.push("iteration_id = ?"), params.push(q.iteration_id);
  if (q.kind !== undefined) where.push("kind = ?"), params.push(q.kind);
  if (q.ids?.length) where.push(`id IN (${q.ids.map(() => "?").join(",")})`), params.push(...q.ids);
  if (q.known_at !== undefined) {
    where.push("observed_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)");
    params.push(q.known_at, q.known_at);
  } else if (!q.history) {
    where.push("superseded_at IS NULL");
  }
  if (q.valid_at !== undefined) {
    where.push("valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)");
    params.push(q.valid_at, q.valid_at);
  }
  const sql = `SELECT * FROM versions ${where.length ? "WHERE " + where.join(" AND ") : ""}
    ORDER BY kind, label, key, valid_from, observed_at, version_id`;
  return { sql, params };
}

/** A node version's observations, when they say more than the version (`storedObservations`). */
function stored(v: Version): string | null {
  const observations = storedObservations(v);
  return observations ? JSON.stringify(observations) : null;
}

function toVersion(row: Record<string, SQLInputValue>): Version {
  return {
    kind: row.kind as Version["kind"],
    id: row.id as string,
    version_id: row.version_id as string,
    iteration_id: row.iteration_id as string,
    label: row.label as string,
    key: JSON.parse(row.key as string),
    from: (row.from_id as string | null) ?? undefined,
    to: (row.to_id as string | null) ?? undefined,
    props: JSON.parse(row.props as string),
    valid_from: Number(row.valid_from),
    valid_to: row.valid_to === null ? null : Number(row.valid_to),
    observed_at: Number(row.observed_at),
    superseded_at: row.superseded_at === null ? null : Number(row.superseded_at),
    ...(typeof row.observations === "string" ? { observations: JSON.parse(row.observations) } : {}),
  };
}
