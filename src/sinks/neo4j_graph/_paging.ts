/**
 * Pages in code point order from Neo4j, which compares a stored string with a parameter in UTF-16
 * order: a cursor is compared in Cypher only as far as both orders agree, and exactly here.
 * @module
 */
import type { Version } from "../../core/types.ts";
import { compareText } from "./_order.ts";

/**
 * The part of a cursor that Neo4j compares with a stored string as SQLite does: up to its first
 * character from U+D800 on (a surrogate, or U+E000..U+FFFF). Every string after the cursor in
 * code point order is at or after it in UTF-16 order too.
 */
export function low(text: string): string {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0xd800) return text.slice(0, i);
  return text;
}

/**
 * A page of `first` rows that `keep` accepts, from a statement giving at most `limit` rows in the
 * page's order: asked again with a larger limit while rows it fetched were not kept and more may
 * follow.
 */
export async function paged<T>(
  first: number,
  cursor: boolean,
  fetch: (limit: number) => Promise<T[]>,
  keep: (row: T) => boolean,
): Promise<T[]> {
  for (let limit = cursor ? first + 1 : first;; limit *= 4) {
    const rows = await fetch(limit);
    const kept = rows.filter(keep);
    if (kept.length >= first || rows.length < limit) return kept.slice(0, first);
  }
}

/** {@link paged} for a statement that pages each of several entities (`of`) at once. */
export async function pagedPerId(
  ids: string[],
  first: number,
  cursor: boolean,
  fetch: (ids: string[], limit: number) => Promise<Map<string, Version[]>>,
  keep: (v: Version) => boolean,
): Promise<Map<string, Version[]>> {
  const out = new Map<string, Version[]>(ids.map((id) => [id, []]));
  let pending = ids;
  for (let limit = cursor ? first + 1 : first; pending.length; limit *= 4) {
    const got = await fetch(pending, limit);
    pending = [];
    for (const [id, rows] of got) {
      const kept = rows.filter(keep);
      if (kept.length >= first || rows.length < limit) out.set(id, kept.slice(0, first));
      else pending.push(id);
    }
  }
  return out;
}

export const after = (cursor: string | undefined) => (text: string) =>
  cursor === undefined || compareText(text, cursor) > 0;
