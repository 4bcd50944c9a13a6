/**
 * The Neo4j graph store's read side (`GraphReader`): one Cypher statement per question, the
 * filters in Cypher, found through the schema the store has (no index on versions):
 *
 * - an iteration's entities: the `Entity.id` uniqueness index, as a prefix range (fact ids are JSON
 *   arrays led by iteration and label, `idPrefix`), which also gives the id order;
 * - an iteration's relationships, links and counts: the `Entity.iteration_id` index, then the
 *   expansions from those entities;
 * - a batch of entities' versions, neighbours and links: `UNWIND` over the ids, each found by
 *   `Entity.id`, a subquery per entity with its own ORDER BY and LIMIT (one round trip);
 * - links of the whole graph: a scan of the `CORRELATES` relationships (no version index is kept;
 *   scope a question to an iteration where it can be).
 *
 * Neo4j orders stored strings by code point, as SQLite's BINARY does, so pages are the same in
 * both; but it compares a stored string with a parameter in UTF-16 order, which differs where a
 * character above U+FFFF meets one in U+E000..U+FFFF. So a cursor is compared in Cypher only as far
 * as both orders agree ({@link low}: up to its first character from U+D800 on, with `>=`), and
 * exactly here ({@link paged}); a page that this leaves short is asked for again with a larger
 * limit.
 * @module
 */
import type { GraphReader, IterationCounts } from "../../core/component.ts";
import { idPrefix } from "../../graph/mod.ts";
import { compareText } from "./_order.ts";
import { LINK, type Row, toNeo4jNumber } from "./_rows.ts";
import {
  at,
  grouped,
  linkFilter,
  linkKept,
  NODE,
  REL,
  relType,
  times,
  versions,
} from "./_cypher.ts";
import { after, low, paged, pagedPerId } from "./_paging.ts";

/** Runs one read statement and gives its records as objects. */
export type Read = (cypher: string, params: Row) => Promise<Row[]>;

export function neo4jReader(read: Read): GraphReader {
  return {
    readIterations(q) {
      const prefix = q.prefix ?? "";
      const from = q.after !== undefined && q.after >= prefix ? q.after : undefined;
      return paged(
        q.first,
        from !== undefined,
        async (limit) =>
          (await read(
            `MATCH (e:Entity) WHERE e.iteration_id STARTS WITH $prefix
               ${from !== undefined ? "AND e.iteration_id >= $low" : ""}
             WITH DISTINCT e.iteration_id AS it ORDER BY it
             WITH it WHERE
               EXISTS { MATCH (:Entity {iteration_id: it})<-[:VERSION_OF]-(x:NodeVersion)
                        WHERE ${at(q)} }
               OR EXISTS { MATCH (:Entity {iteration_id: it})-[x]->(:Entity) WHERE ${at(q)} }
             RETURN it LIMIT $limit`,
            {
              ...times(q),
              prefix,
              low: from === undefined ? null : low(from),
              limit: toNeo4jNumber(limit),
            },
          )).map((r) => r.it as string),
        after(from),
      );
    },

    async countIteration(q) {
      const rows = await read(
        `MATCH (e:Entity {iteration_id: $it})<-[:VERSION_OF]-(x:NodeVersion)
         WHERE e.label IS NOT NULL AND ${at(q)}
         RETURN 'node' AS kind, e.label AS label, count(*) AS n
         UNION ALL
         MATCH (a:Entity {iteration_id: $it})-[x]->(:Entity) WHERE ${at(q)}
         RETURN CASE type(x) WHEN '${LINK}' THEN 'link' ELSE 'relationship' END AS kind,
           type(x) AS label, count(*) AS n`,
        { ...times(q), it: q.iteration_id },
      );
      const counts: IterationCounts = { entities: {}, relationships: {}, links: 0 };
      for (const r of rows) {
        const n = Number(r.n);
        if (r.kind === "node") counts.entities[r.label as string] = n;
        else if (r.kind === "relationship") counts.relationships[r.label as string] = n;
        else counts.links += n;
      }
      return counts;
    },

    readEntities(q) {
      const prefix = q.label === undefined
        ? idPrefix(q.iteration_id)
        : idPrefix(q.iteration_id, q.label);
      const past = after(q.after);
      return paged(
        q.first,
        q.after !== undefined,
        async (limit) =>
          versions(
            await read(
              `MATCH (e:Entity) WHERE e.id STARTS WITH $prefix AND e.iteration_id = $it
                 ${q.label !== undefined ? "AND e.label = $label" : ""}
                 ${q.after !== undefined ? "AND e.id >= $low" : ""}
               MATCH (e)<-[:VERSION_OF]-(x:NodeVersion) WHERE ${at(q)}
               RETURN ${NODE} ORDER BY e.id LIMIT $limit`,
              {
                ...times(q),
                prefix,
                it: q.iteration_id,
                label: q.label ?? null,
                low: q.after === undefined ? null : low(q.after),
                limit: toNeo4jNumber(limit),
              },
            ),
          ),
        (v) => past(v.id),
      );
    },

    async readNodes(q) {
      if (q.ids.length === 0) return [];
      const rows = await read(
        `UNWIND $ids AS id MATCH (e:Entity {id: id})<-[:VERSION_OF]-(x:NodeVersion)
         WHERE ${at(q)} RETURN ${NODE}`,
        { ...times(q), ids: [...new Set(q.ids)] },
      );
      return versions(rows).sort((a, b) => compareText(a.id, b.id));
    },

    readRelationships(q) {
      const type = q.type === undefined ? "" : `:${relType(q.type)}`;
      const c = q.after;
      return paged(
        q.first,
        c !== undefined,
        async (limit) =>
          versions(
            await read(
              `MATCH (a:Entity {iteration_id: $it})-[x${type}]->(b:Entity)
               WHERE type(x) <> '${LINK}' AND ${at(q)} ${c ? "AND a.id >= $low" : ""}
               RETURN ${REL} ORDER BY a.id, type(x), b.id LIMIT $limit`,
              {
                ...times(q),
                it: q.iteration_id,
                low: c ? low(c[0]) : null,
                limit: toNeo4jNumber(limit),
              },
            ),
          ),
        (v) =>
          !c || compareText(v.from!, c[0]) > 0 ||
          (v.from === c[0] && (compareText(v.label, c[1]) > 0 ||
            (v.label === c[1] && compareText(v.to!, c[2]) > 0))),
      );
    },

    relationshipsOf(q) {
      const ids = [...new Set(q.ids)];
      if (ids.length === 0) return Promise.resolve(new Map());
      const type = relType(q.type);
      const [pattern, a, b, other] = q.direction === "out"
        ? [`(e)-[x:${type}]->(o:Entity)`, "e", "o", "to"] as const
        : [`(e)<-[x:${type}]-(o:Entity)`, "o", "e", "from"] as const;
      const past = after(q.after);
      return pagedPerId(
        ids,
        q.first,
        q.after !== undefined,
        async (ids, limit) =>
          grouped(
            ids,
            await read(
              `UNWIND $ids AS of MATCH (e:Entity {id: of})
             CALL (e) {
               MATCH ${pattern} WHERE ${at(q)} ${q.after !== undefined ? "AND o.id >= $low" : ""}
               RETURN x, o ORDER BY o.id LIMIT $limit
             }
             WITH of, x, ${a} AS a, ${b} AS b
             RETURN of, ${REL}`,
              {
                ...times(q),
                ids,
                low: q.after === undefined ? null : low(q.after),
                limit: toNeo4jNumber(limit),
              },
            ),
          ),
        (v) => past(v[other]!),
      );
    },

    readLinks(q) {
      const f = linkFilter(q);
      const scope = q.iteration_id !== undefined ? "{iteration_id: $it}" : "";
      return paged(
        q.first,
        q.after !== undefined,
        async (limit) =>
          versions(
            await read(
              `MATCH (a:Entity ${scope})-[x:${LINK}]->(b:Entity)
               WHERE ${[at(q), ...f.where].join(" AND ")}
               RETURN ${REL} ORDER BY x.confidence DESC, a.id, b.id LIMIT $limit`,
              {
                ...times(q),
                ...f.params,
                it: q.iteration_id ?? null,
                limit: toNeo4jNumber(limit),
              },
            ),
          ),
        linkKept(q),
      );
    },

    linksOf(q) {
      const ids = [...new Set(q.ids)];
      if (ids.length === 0) return Promise.resolve(new Map());
      const f = linkFilter(q);
      return pagedPerId(
        ids,
        q.first,
        q.after !== undefined,
        async (ids, limit) =>
          grouped(
            ids,
            await read(
              `UNWIND $ids AS of MATCH (e:Entity {id: of})
             CALL (e) {
               MATCH (e)-[x:${LINK}]-(:Entity)
               WITH x, startNode(x) AS a, endNode(x) AS b
               WHERE ${[at(q), ...f.where].join(" AND ")}
               RETURN x, a, b ORDER BY x.confidence DESC, a.id, b.id LIMIT $limit
             }
             RETURN of, ${REL}`,
              { ...times(q), ...f.params, ids, limit: toNeo4jNumber(limit) },
            ),
          ),
        linkKept(q),
      );
    },
  };
}
