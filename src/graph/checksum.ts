/**
 * A canonical hash of what a graph store believes: every entity, relationship and link version
 * that is currently believed, with its properties (confidences and contributing rules included) and
 * valid time. System-time fields (`observed_at`, `superseded_at`, version ids) are left out, so two
 * stores that hold the same facts hash equal however and whenever they got there: a clean run, a
 * run killed and resumed ten times, a replay into empty stores, SQLite or Neo4j.
 * @module
 */
import { createHash } from "node:crypto";
import type { GraphStore } from "../core/component.ts";
import type { Version } from "../core/types.ts";

export interface Checksum {
  /** Hex SHA-256 over the canonical lines, iteration by iteration in sorted order. */
  sha256: string;
  iterations: number;
  nodes: number;
  relationships: number;
  links: number;
}

/** One version as canonical text: fixed field order, object keys sorted at every depth. */
export function canonicalVersion(v: Version): string {
  return canonicalJson([
    v.kind,
    v.iteration_id,
    v.id,
    v.label,
    v.key,
    v.from ?? null,
    v.to ?? null,
    v.props,
    v.valid_from,
    v.valid_to,
  ]);
}

/** JSON with object keys sorted, so equal values give equal text whatever their insertion order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : v,
  );
}

/**
 * Hash the believed graph of the given iterations (default: every iteration in the store, listed
 * by the store a page at a time). Reads one iteration at a time, so memory is bounded by the
 * largest iteration.
 */
export async function checksum(
  store: GraphStore,
  options: { iterations?: string[]; prefix?: string } = {},
): Promise<Checksum> {
  let iterations = options.iterations;
  if (!iterations) {
    // The store lists them a page at a time, from its index, the prefix pushed down.
    iterations = [];
    let after: string | undefined;
    for (;;) {
      const page = await store.readIterations({ first: 1000, after, prefix: options.prefix });
      iterations.push(...page);
      if (page.length < 1000) break;
      after = page.at(-1);
    }
  }
  if (options.prefix) iterations = iterations.filter((i) => i.startsWith(options.prefix!));
  const hash = createHash("sha256");
  const counts = { node: 0, relationship: 0, link: 0 };
  const ids = [...new Set(iterations)].sort();
  for (const iteration_id of ids) {
    const lines = (await store.query({ iteration_id })).map((v) => {
      counts[v.kind]++;
      return canonicalVersion(v);
    }).sort();
    // The iteration id frames its lines: no two different graphs share a stream of bytes.
    hash.update(`${JSON.stringify(iteration_id)} ${lines.length}\n`);
    for (const line of lines) hash.update(line + "\n");
  }
  return {
    sha256: hash.digest("hex"),
    iterations: ids.length,
    nodes: counts.node,
    relationships: counts.relationship,
    links: counts.link,
  };
}
