/** `ics links`: export correlation links as JSON Lines. */
import { parseArgs } from "node:util";
import { COMMON_FLAGS, COMMON_OPTIONS, load, openGraph, parseTime } from "./_common.ts";
import { leftLabels, links } from "./_graph.ts";

export const help =
  `Usage: ics links [--iteration ID] [--min-confidence X] [--as-of T] [--known-at T]

Print the correlation links as JSON Lines: both endpoints (label, iteration, natural key), the
confidence, every contributing rule with its score and matched values, and the policy hash.
${COMMON_FLAGS}
  --iteration ID       only this iteration
  --min-confidence X   only links at or above X
  --as-of T            links valid at T (ISO 8601 or epoch ms)
  --known-at T         links as believed at system time T (default: now)`;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      iteration: { type: "string" },
      "min-confidence": { type: "string" },
      "as-of": { type: "string" },
      "known-at": { type: "string" },
    },
  });
  const spec = await load(values.spec);
  const store = await openGraph(spec, values.target, values.state);
  try {
    const min = Number(values["min-confidence"] ?? 0);
    const rows = await links(store, {
      iteration_id: values.iteration,
      valid_at: parseTime(values["as-of"], "--as-of"),
      known_at: parseTime(values["known-at"], "--known-at"),
    }, leftLabels(spec));
    const out = rows.filter((r) => r.confidence >= min)
      .sort((a, b) =>
        b.confidence - a.confidence || JSON.stringify(a.from).localeCompare(JSON.stringify(b.from))
      );
    for (const r of out) console.log(JSON.stringify(r));
    return 0;
  } finally {
    await store.close();
  }
}
