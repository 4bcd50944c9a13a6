/** Turning versions into Neo4j rows and back, and the query conditions. */
import type { VersionQuery } from "../../core/component.ts";
import type { GraphChanges, Version } from "../../core/types.ts";
import {
  LABEL,
  LINK,
  REL_TYPE,
  RESERVED_LABELS,
  RESERVED_PROPERTIES,
  RESERVED_TYPES,
} from "../../core/identifiers.ts";

export type Row = Record<string, unknown>;

// The patterns and reserved names are the spec compiler's: a spec that compiles never fails here.
export { LABEL, LINK, REL_TYPE, RESERVED_LABELS, RESERVED_TYPES };
/** Stored Version fields: a prop with one of these names is kept in `props_json` only. */
export const SYSTEM: ReadonlySet<string> = new Set([...RESERVED_PROPERTIES, "iteration_id"]);

export interface WritePlan {
  closed: Record<Version["kind"], Row[]>;
  observed: Row[];
  nodes: Map<string, Row[]>;
  rels: Map<string, Row[]>;
}

/** Check and group a batch. Like SQLite: the first open or close of a version id wins. */
export function planWrite(changes: GraphChanges): WritePlan {
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
    const rows = group.get(name);
    if (rows) rows.push(row);
    else group.set(name, [row]);
  }
  return plan;
}

export function toRow(v: Version): Row {
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
export function integer(value: unknown, versionId: string, field: string) {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw new TypeError(
      `Version "${versionId}": ${field} must be an integer (epoch ms), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return BigInt(value); // sent as a Bolt INTEGER (a JS number would be a FLOAT)
}

export const toNeo4jNumber = (n: number) => Number.isSafeInteger(n) ? BigInt(n) : n;

/** Props as Neo4j properties: scalars and one-type scalar lists as they are, the rest as JSON. */
export function flatten(props: Record<string, unknown>): Row {
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

export function conditions(q: VersionQuery & { iterations?: string[] }): string {
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

export function toVersion(r: Row): Version {
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
