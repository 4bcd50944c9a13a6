/**
 * "Did you mean": the closest of some names to a misspelt one, for config errors (unknown keys,
 * labels, streams) and command-line errors (unknown flags, values) alike.
 * @module
 */

/** Hints come from lists of up to this many names; a longer list gets none (it costs too much). */
const MAX_CANDIDATES = 1000;

/** The closest candidate to `word` (case-insensitive edit distance), if it is close enough. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  if (list.length > MAX_CANDIDATES) return undefined;
  const limit = Math.max(1, Math.floor(word.length / 3));
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of list) {
    const d = distance(lower, candidate.toLowerCase(), bestDistance - 1);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

let rows = [0, 1, 2].map(() => new Uint32Array(64));

/**
 * Optimal string alignment distance: Levenshtein plus adjacent transpositions ("sorce"/"soruce"),
 * or `limit + 1` as soon as it is certain to exceed `limit`.
 */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  if (rows[0].length <= b.length) rows = rows.map(() => new Uint32Array(2 * b.length + 2));
  let [before, previous, row] = rows; // rows i - 2, i - 1 and i
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  let leastBefore = 0;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, before[j - 2] + 1);
      }
      row[j] = d;
      least = Math.min(least, d);
    }
    // A transposition reaches back two rows: give up only when both rows are past the limit.
    if (least > limit && leastBefore > limit) return limit + 1;
    leastBefore = least;
    [before, previous, row] = [previous, row, before];
  }
  return previous[b.length];
}
