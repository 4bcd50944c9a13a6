/** `ics query`: the entities and links of an iteration, at any point in valid and system time. */
import { formatRef, iso, JSON_OUTPUT, load, openGraph, READ, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { string } from "./_flags.ts";
import { leftLabels, type LinkRow, streamLinks } from "./_graph.ts";
import type { Version } from "../core/types.ts";
import type { GraphReader, TimePoint } from "../core/component.ts";

export const cli = command({
  name: "query",
  summary: "entities and links of an iteration, with time travel (--as-of, --known-at)",
  about:
    `Without --iteration: the iterations in the graph with what each holds at the time asked (its
entities, relationships and links, counted by the store, a page of iterations at a time). With it:
the iteration's entities (one line per version), structural relationships and correlation links.
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
      await iterations(store, when, values.json);
      return 0;
    }
    const all = await store.query({ ...when, iteration_id: values.iteration });
    const nodes = all.filter((v) =>
      v.kind === "node" && (!values.label || v.label === values.label)
    );
    const names = new Map(all.filter((v) => v.kind === "node").map((v) => [v.id, formatRef(v)]));
    const rels = all.filter((v) => v.kind === "relationship");
    const found: LinkRow[] = [];
    for await (
      const l of streamLinks(store, { ...when, iteration_id: values.iteration }, leftLabels(spec))
    ) found.push(l);
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
    for (const l of found) {
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

/**
 * The iterations with their counts at a time point, a page of `page` iterations at a time, each
 * counted by the store: memory holds one page, whatever the graph's size.
 */
export async function* iterationCounts(
  store: GraphReader,
  when: TimePoint,
  page = 200,
): AsyncGenerator<{ id: string; counts: { node: number; relationship: number; link: number } }> {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((s, n) => s + n, 0);
  let after: string | undefined;
  for (;;) {
    const ids = await store.readIterations({ ...when, first: page, after });
    for (const id of ids) {
      const c = await store.countIteration({ ...when, iteration_id: id });
      yield {
        id,
        counts: { node: sum(c.entities), relationship: sum(c.relationships), link: c.links },
      };
    }
    if (ids.length < page) return;
    after = ids.at(-1);
  }
}

async function iterations(store: GraphReader, when: TimePoint, json: boolean) {
  // JSON: an entry is printed once the next is known (it needs a comma then).
  let pending: string | undefined;
  let lines: string[] = [];
  if (json) console.log("{");
  for await (const { id, counts } of iterationCounts(store, when)) {
    if (!json) {
      lines.push(
        `${id}  ${counts.node} entities, ${counts.relationship} relationships, ${counts.link} links`,
      );
    } else {
      if (pending !== undefined) lines.push(pending + ",");
      pending = `  ${JSON.stringify(id)}: ${JSON.stringify(counts)}`;
    }
    if (lines.length >= 200) console.log(lines.join("\n")), lines = [];
  }
  if (lines.length) console.log(lines.join("\n"));
  if (json) console.log(pending === undefined ? "}" : `${pending}\n}`);
}
