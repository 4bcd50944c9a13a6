/**
 * Fencing (`Fence` in `core/component.ts`): a runner claims, in the graph store, the parts of the
 * input its batches come from (a consumer group's partitions) before it loads their iterations,
 * and every graph write carries its claims. Once the group moves a partition to another runner,
 * that one claims it anew, and a write of the previous owner that was stalled meanwhile is
 * refused inside its transaction instead of landing over the iterations the new owner rebuilt.
 * Claims are made again after every new assignment epoch. Sources without offsets (a file) and
 * stores without `claim()` (SQLite, which one runner at a time holds) need no fencing.
 * @module
 */
import type { Fence, SourceBatch } from "../core/component.ts";
import type { Pipeline } from "./_compile.ts";
import type { Call } from "./_call.ts";

export interface Fencing {
  owner: string;
  /** Part → the epoch this runner's claim got, in the current assignment epoch. */
  claims: Map<string, number>;
}

export const fencing = (): Fencing => ({ owner: crypto.randomUUID(), claims: new Map() });

/** The parts of the input a batch comes from: `<group>/<partition>` (topics are co-partitioned). */
export function partsOf(batch: SourceBatch): string[] {
  const o = batch.offsets;
  if (!o) return [];
  const parts = new Set<string>();
  for (const t of o.topics) for (const p of t.partitions) parts.add(`${o.group}/${p.partition}`);
  return [...parts].sort();
}

/** The batch's fence, claiming the parts not claimed yet in this assignment epoch. */
export async function fenceOf(
  p: Pipeline,
  call: Call,
  f: Fencing,
  batch: SourceBatch,
): Promise<Fence | undefined> {
  const claim = p.graph.claim?.bind(p.graph);
  const parts = partsOf(batch);
  if (!claim || parts.length === 0) return undefined;
  const missing = parts.filter((part) => !f.claims.has(part));
  if (missing.length) {
    const got = await call("graph", () => claim(missing, f.owner));
    for (const [part, epoch] of Object.entries(got)) f.claims.set(part, epoch);
  }
  return { owner: f.owner, claims: Object.fromEntries(parts.map((x) => [x, f.claims.get(x)!])) };
}
