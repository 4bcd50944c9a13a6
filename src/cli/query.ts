/** `ics query`: the entities and links of an iteration, at any point in valid and system time. */
import { parseArgs } from "node:util";
import {
  COMMON_FLAGS,
  COMMON_OPTIONS,
  formatRef,
  iso,
  load,
  openGraph,
  parseTime,
} from "./_common.ts";
import { leftLabels, links } from "./_graph.ts";
import type { Version } from "../core/types.ts";

export const help = `Usage: ics query [--iteration ID] [--as-of T] [--known-at T] [--json]

Without --iteration: the iterations in the graph with their counts. With it: the iteration's
entities (one line per version), structural relationships and correlation links.
Time travel: --as-of T shows what was true at valid time T; --known-at T shows what the runner
believed at system time T. Together: "what did we know at T2 about T1". T is ISO 8601 or epoch ms.
${COMMON_FLAGS}
  --iteration ID   the iteration to show
  --label L        only entities with this label
  --json           JSON output`;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...COMMON_OPTIONS,
      iteration: { type: "string" },
      label: { type: "string" },
      "as-of": { type: "string" },
      "known-at": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const spec = await load(values.spec);
  const store = await openGraph(spec, values.target, values.state);
  try {
    const when = {
      valid_at: parseTime(values["as-of"], "--as-of"),
      known_at: parseTime(values["known-at"], "--known-at"),
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
