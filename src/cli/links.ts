/** `ics links`: export correlation links as JSON Lines. */
import { load, openGraph, READ, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { number } from "./_flags.ts";
import { leftLabels, links } from "./_graph.ts";

export const cli = command({
  name: "links",
  summary: "export correlation links as JSON Lines",
  about:
    `Print the correlation links as JSON Lines: both endpoints (label, iteration, natural key), the
confidence, every contributing rule with its score and matched values, and the policy hash.`,
  flags: {
    ...READ,
    "min-confidence": number("X", "only links at or above X", { min: 0, max: 1, default: 0 }),
    ...STORE,
  },
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const store = await openGraph(spec, values.target, values.state);
  try {
    const rows = await links(store, {
      iteration_id: values.iteration,
      valid_at: values["as-of"],
      known_at: values["known-at"],
    }, leftLabels(spec));
    const out = rows.filter((r) => r.confidence >= values["min-confidence"])
      .sort((a, b) =>
        b.confidence - a.confidence || JSON.stringify(a.from).localeCompare(JSON.stringify(b.from))
      );
    for (const r of out) console.log(JSON.stringify(r));
    return 0;
  } finally {
    await store.close();
  }
}
