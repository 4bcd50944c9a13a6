/** Reading the stored graph back for the read commands: links with their endpoints, in pages. */
import type { GraphReader, LinkCursor, LinkFilter, TimePoint } from "../core/component.ts";
import type { LinkProps } from "../core/types.ts";
import { describeLink, type Endpoint } from "../graph/mod.ts";

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

/** Rule id → the entity label of its left side, to orient links for display. */
export function leftLabels(spec: { rules: { id: string; left: string }[] }): Map<string, string> {
  return new Map(spec.rules.map((r) => [r.id, r.left]));
}

/** An entity's label, iteration and key, read from its id (the JSON array [iteration, label, ...key]). */
export function endpointOf(id: string): Endpoint {
  try {
    const [iteration_id, label, ...key] = JSON.parse(id);
    if (typeof iteration_id === "string" && typeof label === "string") {
      return { label, iteration_id, key: key.map(String) };
    }
  } catch { /* shown as unknown below */ }
  return { label: "?", iteration_id: "?", key: [id] };
}

/**
 * Links matching the filters, highest confidence first, read from the store a page at a time:
 * memory holds one page, however many links there are. Endpoints come from the link's entity
 * ids, with no read of their own.
 */
export async function* streamLinks(
  store: GraphReader,
  query: TimePoint & LinkFilter & { iteration_id?: string },
  leftLabel: Map<string, string> = new Map(),
  page = 1000,
): AsyncGenerator<LinkRow> {
  let after: LinkCursor | undefined;
  for (;;) {
    const found = await store.readLinks({ ...query, first: page, after });
    const ends = new Map(
      found.flatMap((l) => [l.from!, l.to!]).map((id) => [id, endpointOf(id)]),
    );
    for (const l of found) {
      yield {
        ...describeLink(l, ends, leftLabel),
        valid_from: l.valid_from,
        observed_at: l.observed_at,
        superseded_at: l.superseded_at,
      };
    }
    if (found.length < page) return;
    const last = found.at(-1)!;
    after = [last.props.confidence as number, last.from!, last.to!];
  }
}
