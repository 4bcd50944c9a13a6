/** `ics query`: the entities and links of an iteration, at any point in valid and system time. */
import { formatRef, iso, JSON_OUTPUT, load, openGraph, READ, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { string } from "./_flags.ts";
import { leftLabels, links } from "./_graph.ts";
import type { Version } from "../core/types.ts";

export const cli = command({
  name: "query",
  summary: "entities and links of an iteration, with time travel (--as-of, --known-at)",
  about:
    `Without --iteration: the iterations in the graph with their counts. With it: the iteration's
entities (one line per version), structural relationships and correlation links.
Time travel: --as-of T shows what was true at valid time T; --known-at T shows what the runner
believed at system time T. Together: "what did we know at T2 about T1".`,
  flags: {
    ...READ,
    label: string("L", "only entities with this label"),
    ...JSON_OUTPUT,
    ...STORE,
  },
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const store = await openGraph(spec, values.target, values.state);
  try {
    const when = {
      valid_at: values["as-of"],
      known_at: values["known-at"],
    };
    if (!values.iteration) {
      const counts = new Map<string, Record<string, number>>();
      for (const v of await store.query(when)) {
        const c = counts.get(v.iteration_id) ?? { node: 0, relationship: 0, link: 0 };
        c[v.kind]++;
        counts.set(v.iteration_id, c);
      }
      if (values.json) console.log(JSON.stringify(Object.fromEntries(counts), null, 2));
      else {
        for (const [id, c] of [...counts].sort()) {
          console.log(
            `${id}  ${c.node} node versions, ${c.relationship} relationships, ${c.link} links`,
          );
        }
      }
      return 0;
    }
    const all = await store.query({ ...when, iteration_id: values.iteration });
    const nodes = all.filter((v) =>
      v.kind === "node" && (!values.label || v.label === values.label)
    );
    const names = new Map(all.filter((v) => v.kind === "node").map((v) => [v.id, formatRef(v)]));
    const rels = all.filter((v) => v.kind === "relationship");
    const found = await links(store, { ...when, iteration_id: values.iteration }, leftLabels(spec));
    if (values.json) {
      console.log(JSON.stringify({ entities: nodes, relationships: rels, links: found }, null, 2));
      return 0;
    }
    console.log(`Entities (${nodes.length} versions)`);
    for (const v of nodes) {
      console.log(`  ${formatRef(v)}  ${period(v)}  ${JSON.stringify(v.props)}`);
    }
    console.log(`\nRelationships (${rels.length})`);
    for (const v of rels) {
      console.log(`  ${names.get(v.from!) ?? v.from} -[${v.label}]-> ${names.get(v.to!) ?? v.to}`);
    }
    console.log(`\nLinks (${found.length})`);
    for (const l of found.sort((a, b) => b.confidence - a.confidence)) {
      console.log(
        `  ${l.confidence.toFixed(3)}  ${formatRef(l.from)} ~ ${formatRef(l.to)}  [${
          l.rules.map((r) => r.rule).join(", ")
        }]`,
      );
    }
    return 0;
  } finally {
    await store.close();
  }
}

function period(v: Version): string {
  return `valid ${iso(v.valid_from)}..${v.valid_to === null ? "" : iso(v.valid_to)} known ${
    iso(v.observed_at)
  }..${v.superseded_at === null ? "" : iso(v.superseded_at)}`;
}
