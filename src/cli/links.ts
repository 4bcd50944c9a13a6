/** `ics links`: export correlation links as JSON Lines. */
import { load, openGraph, READ, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { number } from "./_flags.ts";
import { leftLabels, streamLinks } from "./_graph.ts";

export const cli = command({
  name: "links",
  summary: "export correlation links as JSON Lines",
  about:
    `Print the correlation links as JSON Lines, highest confidence first: both endpoints (label,
iteration, natural key), the confidence, every contributing rule with its score and matched values,
and the policy hash. Read from the graph store a page at a time (memory holds one page).`,
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
    const min = values["min-confidence"];
    const rows = streamLinks(store, {
      iteration_id: values.iteration,
      valid_at: values["as-of"],
      known_at: values["known-at"],
      ...(min > 0 ? { min_confidence: min } : {}),
    }, leftLabels(spec));
    // A page at a time, as the store gives them: highest confidence first.
    let lines: string[] = [];
    for await (const r of rows) {
      lines.push(JSON.stringify(r));
      if (lines.length >= 1000) console.log(lines.join("\n")), lines = [];
    }
    if (lines.length) console.log(lines.join("\n"));
    return 0;
  } finally {
    await store.close();
  }
}
