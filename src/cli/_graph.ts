/** Reading the stored graph back for the read commands: links with their endpoints. */
import type { GraphStore, VersionQuery } from "../core/component.ts";
import type { LinkProps, Version } from "../core/types.ts";
import { describeLink } from "../graph/mod.ts";

export interface LinkRow {
  from: { label: string; iteration_id: string; key: string[] };
  to: { label: string; iteration_id: string; key: string[] };
  confidence: number;
  rules: LinkProps["rules"];
  policy: string;
  valid_from: number;
  observed_at: number;
  superseded_at: number | null;
}

/** Links matching a query, with their endpoints resolved to label, iteration and key. */
export async function links(
  store: GraphStore,
  query: Omit<VersionQuery, "kind">,
  leftLabel: Map<string, string> = new Map(),
): Promise<LinkRow[]> {
  const found = await store.query({ ...query, kind: "link" });
  const ids = [...new Set(found.flatMap((l) => [l.from!, l.to!]))];
  const nodes = new Map<string, Version>();
  for (let i = 0; i < ids.length; i += 500) {
    for (
      const v of await store.query({ kind: "node", ids: ids.slice(i, i + 500), history: true })
    ) nodes.set(v.id, v);
  }
  return found.map((l) => ({
    ...describeLink(l, nodes, leftLabel),
    valid_from: l.valid_from,
    observed_at: l.observed_at,
    superseded_at: l.superseded_at,
  }));
}

/** Rule id → the entity label of its left side, to orient links for display. */
export function leftLabels(spec: { rules: { id: string; left: string }[] }): Map<string, string> {
  return new Map(spec.rules.map((r) => [r.id, r.left]));
}
