/** The Cypher of the read side: time point conditions, link filters, row shapes. */
import type { LinkCursor, LinkFilter, TimePoint } from "../../core/component.ts";
import type { Version } from "../../core/types.ts";
import { LINK, OBSERVATIONS, REL_TYPE, RESERVED_TYPES, type Row, toNeo4jNumber } from "./_rows.ts";
import { toVersion } from "./_rows.ts";
import { compareText } from "./_order.ts";
import { low } from "./_paging.ts";

/** A version `x` at a time point; `x` is one ics wrote (it has its times). */
export function at(tp: TimePoint, x = "x"): string {
  const c = [`${x}.valid_from IS NOT NULL`];
  c.push(
    tp.known_at !== undefined
      ? `${x}.observed_at <= $known_at AND (${x}.superseded_at IS NULL OR ${x}.superseded_at > $known_at)`
      : `${x}.observed_at IS NOT NULL AND ${x}.superseded_at IS NULL`,
  );
  c.push(
    tp.valid_at !== undefined
      ? `${x}.valid_from <= $valid_at AND (${x}.valid_to IS NULL OR ${x}.valid_to > $valid_at)`
      : `${x}.valid_to IS NULL`,
  );
  return c.join(" AND ");
}

export function times(tp: TimePoint): Row {
  return {
    known_at: tp.known_at === undefined ? null : toNeo4jNumber(tp.known_at),
    valid_at: tp.valid_at === undefined ? null : toNeo4jNumber(tp.valid_at),
  };
}

/**
 * Link filters on `x` between `a` and `b`. The rules are stored as JSON text: a rule is found by
 * its `"rule":"<id>"` entry (quotes inside values are escaped, so only a rule entry matches) and
 * checked again on the parsed rules ({@link hasRule}).
 */
export function linkFilter(
  f: LinkFilter & { after?: LinkCursor },
): { where: string[]; params: Row } {
  const where: string[] = [];
  const params: Row = {};
  if (f.min_confidence !== undefined) {
    where.push("x.confidence >= $min"), params.min = f.min_confidence;
  }
  if (f.max_confidence !== undefined) {
    where.push("x.confidence <= $max"), params.max = f.max_confidence;
  }
  if (f.rule !== undefined) {
    where.push("x.rules CONTAINS $rule_entry");
    params.rule_entry = `"rule":${JSON.stringify(f.rule)}`;
  }
  if (f.after) {
    where.push("(x.confidence < $c OR (x.confidence = $c AND a.id >= $f))");
    params.c = f.after[0];
    params.f = low(f.after[1]);
  }
  return { where, params };
}

/** Whether a link passes the filters exactly: its rule, and past the cursor in code point order. */
export const linkKept = (f: LinkFilter & { after?: LinkCursor }) => (v: Version) => {
  if (f.rule !== undefined && !hasRule(f.rule, v)) return false;
  if (!f.after) return true;
  const [c, from, to] = f.after, confidence = v.props.confidence as number;
  return confidence < c ||
    (confidence === c && (compareText(v.from!, from) > 0 ||
      (v.from === from && compareText(v.to!, to) > 0)));
};

export const hasRule = (rule: string, v: Version) =>
  ((v.props.rules as { rule?: unknown }[] | undefined) ?? []).some((r) => r?.rule === rule);

/** A relationship type as spliced into Cypher: the spec compiler's pattern, never a reserved one. */
export function relType(type: string): string {
  if (!REL_TYPE.test(type) || RESERVED_TYPES.has(type)) {
    throw new TypeError(`"${type}" is not a relationship type (${REL_TYPE})`);
  }
  return type;
}

/** The row of a node version `x` of entity `e` (its observations left out). */
export const NODE = `'node' AS kind, e.id AS id, e.iteration_id AS iteration_id, e.label AS label,
  e.key AS key, null AS from_id, null AS to_id, x {.*, ${OBSERVATIONS}: null} AS p`;
/** The row of a relationship or link version `x` from `a` to `b`. */
export const REL =
  `CASE type(x) WHEN '${LINK}' THEN 'link' ELSE 'relationship' END AS kind, null AS id,
  a.iteration_id AS iteration_id, type(x) AS label, null AS key, a.id AS from_id, b.id AS to_id,
  properties(x) AS p`;

export const versions = (rows: Row[]) =>
  rows.filter((r) =>
    typeof r.iteration_id === "string" && typeof r.label === "string" &&
    typeof (r.p as Row).valid_from === "number" && typeof (r.p as Row).observed_at === "number" &&
    (r.kind !== "node" || Array.isArray(r.key))
  ).map(toVersion);

/** Rows of a per-entity subquery (`of`: the entity asked about) grouped by it. */
export function grouped(ids: string[], rows: Row[]) {
  const out = new Map<string, Version[]>(ids.map((id) => [id, []]));
  for (const r of rows) {
    const [v] = versions([r]);
    if (v) out.get(r.of as string)?.push(v);
  }
  return out;
}
