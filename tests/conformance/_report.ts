/**
 * The corpus-level measurement: tallies of many runs added up and printed as a table (recall per
 * family, precision of links at or above 0.6, near misses linked, duplicates dropped vs re-sends,
 * dead letters).
 * @module
 */
import type { Tally } from "./_properties.ts";
import { FAMILIES } from "./_plants.ts";

export function emptyTally(): Tally {
  return {
    events: 0,
    planted: {},
    strong: { planted: 0, unplanned: 0 },
    misses: { planted: 0, linked: 0 },
    resends: { injected: 0, dropped: 0, counted: 0, distinctDropped: 0 },
    dead: {},
    sameKey: 0,
  };
}

export function addTally(total: Tally, t: Tally): void {
  total.events += t.events;
  for (const [k, v] of Object.entries(t.planted)) {
    const s = total.planted[k] ??= { planted: 0, found: 0 };
    s.planted += v.planted;
    s.found += v.found;
  }
  total.strong.planted += t.strong.planted;
  total.strong.unplanned += t.strong.unplanned;
  total.misses.planted += t.misses.planted;
  total.misses.linked += t.misses.linked;
  for (const k of ["injected", "dropped", "counted", "distinctDropped"] as const) {
    total.resends[k] += t.resends[k];
  }
  for (const [k, v] of Object.entries(t.dead)) total.dead[k] = (total.dead[k] ?? 0) + v;
  total.sameKey += t.sameKey;
  if (t.collisions !== undefined) total.collisions = (total.collisions ?? 0) + t.collisions;
}

const pct = (n: number, d: number) => d === 0 ? "-" : `${(100 * n / d).toFixed(1)}%`;

/** The tally as a fixed-width table. */
export function formatTally(t: Tally, runs: number): string {
  const rows: string[][] = [["family", "planted as", "planted", "linked", "recall"]];
  for (const family of FAMILIES) {
    const shapes = Object.entries(t.planted).filter(([k]) => k.split(" ")[0] === family).sort();
    let planted = 0, found = 0;
    for (const [k, v] of shapes) {
      rows.push([family, k.split(" ")[1], `${v.planted}`, `${v.found}`, pct(v.found, v.planted)]);
      planted += v.planted;
      found += v.found;
    }
    rows.push([family, "(all)", `${planted}`, `${found}`, pct(found, planted)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const table = rows.map((r) =>
    r.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ")
  );
  const strong = t.strong.planted + t.strong.unplanned;
  const dead = Object.entries(t.dead).sort().map(([k, v]) => `${k} ${v}`).join(", ");
  const r = t.resends;
  return [
    `${runs} corpora, ${t.events} lines`,
    "",
    ...table,
    "",
    `links >= 0.6       ${strong} (${t.strong.planted} planted pairs, ${t.strong.unplanned} unplanned): ` +
    `precision ${pct(t.strong.planted, strong)}`,
    `near misses        ${t.misses.planted} planted, ${t.misses.linked} linked`,
    `re-sends           ${r.injected} injected, ${r.dropped} dropped (re-sends of held events); ` +
    `dedup_dropped_total ${r.counted}; distinct events dropped as duplicates ${r.distinctDropped}`,
    `same-key bursts    ${t.sameKey} distinct events sharing EVENTS.md's key with another; ` +
    `dedup_collisions_total ${t.collisions ?? "not counted by this runtime"}`,
    `dead letters       ${Object.values(t.dead).reduce((a, b) => a + b, 0)}${
      dead ? ` (${dead})` : ""
    }`,
  ].join("\n");
}
