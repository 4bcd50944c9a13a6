/**
 * The SQLite graph store's read side (`GraphReader`): every question is one indexed statement (or
 * one per entity of a batch, which in process costs microseconds, not a round trip each), with the
 * filters in SQL and a LIMIT.
 *
 * - An iteration's facts, and its facts of one label or type, are one range of the fact id index
 *   (`versions_fact`): fact ids are JSON arrays led by the iteration and the label (`idPrefix`).
 * - Relationships and links from or to an entity: `versions_out` (from_id, label, to_id) and
 *   `versions_in` (to_id, label, from_id); links of the whole graph by confidence:
 *   `versions_confidence`. All three are partial: only relationship and link rows pay for them.
 * - Iterations: a loose scan of `versions_current`, one seek per iteration listed.
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type {
  GraphReader,
  IterationCounts,
  LinkCursor,
  LinkFilter,
  TimePoint,
} from "../core/component.ts";
import type { Version } from "../core/types.ts";
import { idPrefix, idPrefixEnd } from "../graph/mod.ts";

/** The read side's indexes (created with the table; `IF NOT EXISTS`: older files get them too). */
export const READ_INDEXES = `
CREATE INDEX IF NOT EXISTS versions_out ON versions (from_id, label, to_id) WHERE from_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS versions_in ON versions (to_id, label, from_id) WHERE to_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS versions_confidence
  ON versions (json_extract(props, '$.confidence') DESC, from_id, to_id) WHERE kind = 'link';
`;

const CONFIDENCE = "json_extract(props, '$.confidence')";
const LINK_ORDER = `${CONFIDENCE} DESC, from_id, to_id`;
/** A version's columns, but not its observations (restart state, of no use to a reader). */
const COLUMNS =
  "version_id, kind, id, iteration_id, label, key, from_id, to_id, props, valid_from, " +
  "valid_to, observed_at, superseded_at";
/** Ids per statement of an `IN (...)` list. */
const CHUNK = 500;

type Where = { sql: string[]; params: SQLInputValue[] };

/** The version of each fact at a time point: believed at `known_at`, valid at `valid_at`. */
function at(tp: TimePoint, w: Where): Where {
  if (tp.known_at !== undefined) {
    w.sql.push("observed_at <= ? AND (superseded_at IS NULL OR superseded_at > ?)");
    w.params.push(tp.known_at, tp.known_at);
  } else w.sql.push("superseded_at IS NULL");
  if (tp.valid_at !== undefined) {
    w.sql.push("valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)");
    w.params.push(tp.valid_at, tp.valid_at);
  } else w.sql.push("valid_to IS NULL");
  return w;
}

function linkFilter(f: LinkFilter & { after?: LinkCursor }, w: Where): Where {
  if (f.min_confidence !== undefined) {
    w.sql.push(`${CONFIDENCE} >= ?`), w.params.push(f.min_confidence);
  }
  if (f.max_confidence !== undefined) {
    w.sql.push(`${CONFIDENCE} <= ?`), w.params.push(f.max_confidence);
  }
  if (f.rule !== undefined) {
    w.sql.push(
      `EXISTS (SELECT 1 FROM json_each(props, '$.rules') WHERE json_extract(value, '$.rule') = ?)`,
    );
    w.params.push(f.rule);
  }
  if (f.after) {
    const [c, from, to] = f.after;
    // The `<=` alone is what lets the planner seek in versions_confidence (the OR would scan).
    w.sql.push(
      `${CONFIDENCE} <= ?`,
      `(${CONFIDENCE} < ? OR (${CONFIDENCE} = ? AND (from_id > ? OR (from_id = ? AND to_id > ?))))`,
    );
    w.params.push(c, c, c, from, from, to);
  }
  return w;
}

const where = (w: Where) => w.sql.length ? `WHERE ${w.sql.join(" AND ")}` : "";

/** The read side over an open database; `toVersion` turns a row into a version. */
export function sqliteReader(
  db: DatabaseSync,
  toVersion: (row: Record<string, SQLInputValue>) => Version,
): GraphReader {
  const cache = new Map<string, StatementSync>();
  const all = (sql: string, params: SQLInputValue[]) => {
    let s = cache.get(sql);
    if (!s) cache.set(sql, s = db.prepare(sql));
    return s.all(...params);
  };
  const versions = (sql: string, params: SQLInputValue[]) => all(sql, params).map(toVersion);
  /** The rows of each id's statement, by id. */
  const perId = (ids: string[], one: (id: string) => Version[]) => {
    const out = new Map<string, Version[]>();
    for (const id of new Set(ids)) out.set(id, one(id));
    return Promise.resolve(out);
  };
  return {
    readIterations(q) {
      const found: string[] = [];
      const prefix = q.prefix ?? "";
      let cursor = q.after !== undefined && q.after >= prefix ? q.after : undefined;
      while (found.length < q.first) {
        const [row] = cursor === undefined
          ? all(
            `SELECT iteration_id FROM versions WHERE superseded_at IS NULL AND iteration_id >= ?
             ORDER BY iteration_id LIMIT 1`,
            [prefix],
          )
          : all(
            `SELECT iteration_id FROM versions WHERE superseded_at IS NULL AND iteration_id > ?
             ORDER BY iteration_id LIMIT 1`,
            [cursor],
          );
        const it = row?.iteration_id as string | undefined;
        if (it === undefined || !it.startsWith(prefix)) break;
        cursor = it;
        const start = idPrefix(it);
        const w = at(q, {
          sql: ["id >= ?", "id < ?", "iteration_id = ?"],
          params: [start, idPrefixEnd(start), it],
        });
        if (all(`SELECT 1 FROM versions ${where(w)} LIMIT 1`, w.params).length) found.push(it);
      }
      return Promise.resolve(found);
    },

    countIteration(q) {
      const start = idPrefix(q.iteration_id);
      const w = at(q, {
        sql: ["id >= ?", "id < ?", "iteration_id = ?"],
        params: [start, idPrefixEnd(start), q.iteration_id],
      });
      const counts: IterationCounts = { entities: {}, relationships: {}, links: 0 };
      for (
        const r of all(
          `SELECT kind, label, count(*) AS n FROM versions ${where(w)} GROUP BY kind, label`,
          w.params,
        )
      ) {
        const n = Number(r.n);
        if (r.kind === "node") counts.entities[r.label as string] = n;
        else if (r.kind === "relationship") counts.relationships[r.label as string] = n;
        else counts.links += n;
      }
      return Promise.resolve(counts);
    },

    readEntities(q) {
      const start = q.label === undefined
        ? idPrefix(q.iteration_id)
        : idPrefix(q.iteration_id, q.label);
      const w = at(q, {
        sql: ["id >= ?", "id < ?", "kind = 'node'", "iteration_id = ?"],
        params: [start, idPrefixEnd(start), q.iteration_id],
      });
      if (q.label !== undefined) w.sql.push("label = ?"), w.params.push(q.label);
      if (q.after !== undefined) w.sql.push("id > ?"), w.params.push(q.after);
      return Promise.resolve(
        versions(`SELECT ${COLUMNS} FROM versions ${where(w)} ORDER BY id LIMIT ?`, [
          ...w.params,
          q.first,
        ]),
      );
    },

    readNodes(q) {
      const out: Version[] = [];
      const ids = [...new Set(q.ids)];
      for (let i = 0; i < ids.length; i += CHUNK) {
        const chunk = ids.slice(i, i + CHUNK);
        const w = at(q, {
          sql: [`id IN (${chunk.map(() => "?").join(",")})`, "kind = 'node'"],
          params: chunk,
        });
        out.push(...versions(`SELECT ${COLUMNS} FROM versions ${where(w)} ORDER BY id`, w.params));
      }
      return Promise.resolve(out);
    },

    readRelationships(q) {
      const start = idPrefix(q.iteration_id);
      const w = at(q, {
        sql: ["from_id >= ?", "from_id < ?", "kind = 'relationship'", "iteration_id = ?"],
        params: [start, idPrefixEnd(start), q.iteration_id],
      });
      if (q.type !== undefined) w.sql.push("label = ?"), w.params.push(q.type);
      if (q.after) w.sql.push("(from_id, label, to_id) > (?, ?, ?)"), w.params.push(...q.after);
      return Promise.resolve(
        versions(
          `SELECT ${COLUMNS} FROM versions ${where(w)} ORDER BY from_id, label, to_id LIMIT ?`,
          [...w.params, q.first],
        ),
      );
    },

    relationshipsOf(q) {
      const [end, other] = q.direction === "out" ? ["from_id", "to_id"] : ["to_id", "from_id"];
      return perId(q.ids, (id) => {
        const w = at(q, {
          sql: [`${end} = ?`, "label = ?", "kind = 'relationship'"],
          params: [id, q.type],
        });
        if (q.after !== undefined) w.sql.push(`${other} > ?`), w.params.push(q.after);
        return versions(
          `SELECT ${COLUMNS} FROM versions ${where(w)} ORDER BY ${other} LIMIT ?`,
          [...w.params, q.first],
        );
      });
    },

    readLinks(q) {
      const w: Where = { sql: ["kind = 'link'"], params: [] };
      if (q.iteration_id !== undefined) {
        const start = idPrefix(q.iteration_id, "CORRELATES");
        w.sql.push("id >= ?", "id < ?", "iteration_id = ?");
        w.params.push(start, idPrefixEnd(start), q.iteration_id);
      }
      linkFilter(q, at(q, w));
      return Promise.resolve(
        versions(`SELECT ${COLUMNS} FROM versions ${where(w)} ORDER BY ${LINK_ORDER} LIMIT ?`, [
          ...w.params,
          q.first,
        ]),
      );
    },

    linksOf(q) {
      return perId(q.ids, (id) => {
        const side = (end: string) => {
          const w = linkFilter(
            q,
            at(q, { sql: [`${end} = ?`, "label = 'CORRELATES'", "kind = 'link'"], params: [id] }),
          );
          return { sql: `SELECT ${COLUMNS} FROM versions ${where(w)}`, params: w.params };
        };
        const [a, b] = [side("from_id"), side("to_id")];
        return versions(
          `SELECT * FROM (${a.sql} UNION ALL ${b.sql}) ORDER BY ${LINK_ORDER} LIMIT ?`,
          [...a.params, ...b.params, q.first],
        );
      });
    },
  };
}
