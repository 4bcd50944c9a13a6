/** Result order identical to the SQLite store's, so the two stores can be compared exactly. */
import type { Version } from "../../core/types.ts";

/** SQLite's `ORDER BY kind, label, key, valid_from, observed_at` (BINARY), then version_id. */
export function sortVersions(versions: Version[]): Version[] {
  return versions
    .map((v) => ({ v, key: JSON.stringify(v.key) }))
    .sort((a, b) =>
      compareText(a.v.kind, b.v.kind) || compareText(a.v.label, b.v.label) ||
      compareText(a.key, b.key) || a.v.valid_from - b.v.valid_from ||
      a.v.observed_at - b.v.observed_at || compareText(a.v.version_id, b.v.version_id)
    )
    .map((x) => x.v);
}

/** Code point order, which is UTF-8 byte order (SQLite's BINARY collation); JS `<` is UTF-16's. */
export function compareText(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i), y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Surrogates (code points above U+FFFF) sort after U+E000..U+FFFF in code point order. */
export const rank = (c: number) => c >= 0xd800 ? (c < 0xe000 ? c + 0x2000 : c - 0x800) : c;
