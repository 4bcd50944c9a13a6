/** Turning versions into Neo4j rows and back, and the query conditions. */
import type { VersionQuery } from "../../core/component.ts";
import type { GraphChanges, Observation, Version, VersionRef } from "../../core/types.ts";
import { storedObservations } from "../../graph/mod.ts";
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

/**
 * The properties a version holds besides its props. Its identity is its fact (the entity it hangs
 * off, or the relationship's endpoints and type) and its two times: `valid_from` and
 * `observed_at`, from which the version id is derived on reading (`${id}@${vf}@${oa}`).
 */
const TIMES = ["valid_from", "valid_to", "observed_at", "superseded_at"] as const;
/** Names of props stored as JSON text (values Neo4j has no property type for). */
export const JSON_PROPS = "json_props";
export const OBSERVATIONS = "observations_json";
/**
 * Names that are no prop: the times, the two above, and what earlier versions of this store
 * wrote (`version_id`, `props_json`, ...; read for compatibility, never written). The spec
 * compiler reserves them all (`RESERVED_PROPERTIES`).
 */
const SYSTEM: ReadonlySet<string> = new Set([...RESERVED_PROPERTIES, ...TIMES]);

export interface WritePlan {
  /** Node version closes, and relationship/link closes by type. */
  closed: { node: Row[]; rels: Map<string, Row[]> };
  /** Node versions whose observations grew. */
  observed: Row[];
  /** New node versions by label. */
  nodes: Map<string, Row[]>;
  /** New relationship and link versions by type. */
  rels: Map<string, Row[]>;
  /** Iterations the batch writes (for fencing). */
  iterations: string[];
}

const push = (map: Map<string, Row[]>, key: string, row: Row) => {
  const rows = map.get(key);
  if (rows) rows.push(row);
  else map.set(key, [row]);
};

/** Check and group a batch. Like SQLite: the first open or close of a version id wins. */
export function planWrite(changes: GraphChanges): WritePlan {
  const plan: WritePlan = {
    closed: { node: [], rels: new Map() },
    observed: [],
    nodes: new Map(),
    rels: new Map(),
    iterations: [],
  };
  const iterations = new Set<string>();
  const closing = new Set<string>();
  for (const c of changes.closed) {
    if (closing.has(c.version_id)) continue;
    closing.add(c.version_id);
    const row = { ...refRow(c), at: integer(c.at, c.version_id, "at") };
    if (c.kind === "node") plan.closed.node.push(row);
    else if (c.kind === "relationship" || c.kind === "link") {
      push(plan.closed.rels, c.kind === "link" ? LINK : relType(c), row);
    } else throw new TypeError(`Close of "${c.version_id}": unknown kind "${c.kind}"`);
  }
  for (const o of changes.observed ?? []) {
    plan.observed.push({ ...refRow(o), obs: JSON.stringify(o.observations) });
  }
  const opening = new Set<string>();
  for (const v of changes.opened) {
    const row = toRow(v); // checked even when skipped: a broken row fails the batch, as in SQLite
    iterations.add(v.iteration_id);
    if (opening.has(v.version_id)) continue;
    opening.add(v.version_id);
    if (v.kind === "node") push(plan.nodes, v.label, row);
    else push(plan.rels, v.kind === "link" ? LINK : v.label, row);
  }
  plan.iterations = [...iterations];
  return plan;
}

/** How a close or an observations update finds its version. */
function refRow(r: VersionRef): Row {
  const times = {
    vf: integer(r.valid_from, r.version_id, "valid_from"),
    oa: integer(r.observed_at, r.version_id, "observed_at"),
  };
  if (r.kind === "node") return { id: r.id, ...times };
  if (typeof r.from !== "string" || typeof r.to !== "string") {
    throw new TypeError(`Version "${r.version_id}": a ${r.kind} needs from and to`);
  }
  return { from: r.from, to: r.to, ...times };
}

function relType(v: Pick<Version, "version_id" | "label" | "kind">): string {
  if (!REL_TYPE.test(v.label) || RESERVED_TYPES.has(v.label)) {
    throw new TypeError(
      `Version "${v.version_id}": "${v.label}" is not a usable ${v.kind} type (${REL_TYPE})`,
    );
  }
  return v.label;
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
  const { props, json } = flatten(v.props);
  const set: Row = {
    ...props,
    valid_to: v.valid_to === null ? null : integer(v.valid_to, v.version_id, "valid_to"),
    superseded_at: v.superseded_at === null
      ? null
      : integer(v.superseded_at, v.version_id, "superseded_at"),
  };
  if (json.length) set[JSON_PROPS] = json;
  const observations = storedObservations(v);
  if (observations) set[OBSERVATIONS] = JSON.stringify(observations);
  const times = {
    vf: integer(v.valid_from, v.version_id, "valid_from"),
    oa: integer(v.observed_at, v.version_id, "observed_at"),
  };
  if (v.kind === "node") {
    if (!LABEL.test(v.label) || RESERVED_LABELS.has(v.label)) {
      throw new TypeError(`${where}: "${v.label}" is not a usable node label (${LABEL})`);
    }
    return { id: v.id, iteration_id: v.iteration_id, label: v.label, key: v.key, ...times, set };
  }
  if (v.kind !== "relationship" && v.kind !== "link") {
    throw new TypeError(`${where}: unknown kind "${v.kind}"`);
  }
  if (v.kind === "link" ? v.label !== LINK : (relType(v), false)) {
    throw new TypeError(`${where}: "${v.label}" is not a usable ${v.kind} type (${REL_TYPE})`);
  }
  if (typeof v.from !== "string" || typeof v.to !== "string") {
    throw new TypeError(`${where}: a ${v.kind} needs from and to`);
  }
  return { from: v.from, to: v.to, iteration_id: v.iteration_id, ...times, set };
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

/**
 * Props as Neo4j properties: strings, booleans, finite numbers and non-empty lists of one such type
 * as they are; anything else (objects, mixed or empty lists, non-finite numbers) as JSON text,
 * named in `json` so that reading gives the value back exactly. Null says nothing: left out.
 */
export function flatten(props: Record<string, unknown>): { props: Row; json: string[] } {
  const out: Row = {};
  const json: string[] = [];
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined) continue;
    // Names the spec compiler reserves never reach here; names Neo4j refuses (empty, NUL) do not
    // come from a compiled spec either: refuse them rather than lose the value.
    if (SYSTEM.has(name) || !name || name.includes("\0")) {
      throw new TypeError(`Prop "${name}" cannot be stored as a Neo4j property`);
    }
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
    } else {
      out[name] = JSON.stringify(value);
      json.push(name);
    }
  }
  return { props: out, json };
}

/** A version's props from its Neo4j properties (or, written by an earlier store, `props_json`). */
export function propsOf(p: Row): Record<string, unknown> {
  if (typeof p.props_json === "string") return JSON.parse(p.props_json);
  const json = new Set((p[JSON_PROPS] as string[] | undefined) ?? []);
  const props: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(p)) {
    if (SYSTEM.has(name)) continue;
    props[name] = json.has(name) ? JSON.parse(value as string) : value;
  }
  return props;
}

/** Conditions on a version `x` for a query. */
export function conditions(q: VersionQuery): string[] {
  const c: string[] = [];
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
  return c;
}

/** A version from a query row: `e`/`a`/`b` are the entity or endpoints, `p` the properties. */
export function toVersion(r: Row): Version {
  const p = r.p as Row;
  const kind = r.kind as Version["kind"];
  const iteration_id = r.iteration_id as string;
  const label = r.label as string;
  const id = kind === "node"
    ? r.id as string
    : JSON.stringify([iteration_id, label, r.from_id, r.to_id]);
  const valid_from = p.valid_from as number, observed_at = p.observed_at as number;
  const v: Version = {
    kind,
    id,
    version_id: `${id}@${valid_from}@${observed_at}`,
    iteration_id,
    label,
    key: kind === "node" ? r.key as string[] : [],
    from: kind === "node" ? undefined : r.from_id as string,
    to: kind === "node" ? undefined : r.to_id as string,
    props: propsOf(p),
    valid_from,
    valid_to: (p.valid_to ?? null) as number | null,
    observed_at,
    superseded_at: (p.superseded_at ?? null) as number | null,
  };
  if (typeof p[OBSERVATIONS] === "string") {
    v.observations = JSON.parse(p[OBSERVATIONS] as string) as Observation[];
  }
  return v;
}
