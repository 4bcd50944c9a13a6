/** `ics checksum`: a canonical hash of the stored graph, to compare stores, runs and replays. */
import { JSON_OUTPUT, load, openGraph, SELECTION, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { type Checksum, checksum } from "../graph/checksum.ts";
import type { CompiledSpec } from "../compiler/mod.ts";

export const cli = command({
  name: "checksum",
  summary: "a canonical hash of the stored graph (compare stores, runs, replays)",
  about: `Print a SHA-256 over every believed entity, relationship and link version (properties,
confidences, contributing rules and valid time; system-time fields are left out). Two stores hold
the same graph exactly when their checksums are equal: SQLite and Neo4j, a clean run and a run
killed and resumed, the graph before a disaster and its replay from Kafka. With --json, the
checksum and the counts as one JSON object.`,
  flags: { ...SELECTION, ...JSON_OUTPUT, ...STORE },
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const sum = await stateChecksum(spec, values.target, values.state, {
    iterations: values.iteration,
    prefix: values.prefix,
  });
  if (values.json) console.log(JSON.stringify(sum));
  else {
    console.log(
      `${sum.sha256}  ${sum.iterations} iterations, ${sum.nodes} entity, ` +
        `${sum.relationships} relationship and ${sum.links} link versions`,
    );
  }
  return 0;
}

/** The checksum of a target's graph store (what `ics checksum` prints), opened and closed here. */
export async function stateChecksum(
  spec: CompiledSpec,
  target?: string,
  state?: string,
  options: Parameters<typeof checksum>[1] = {},
): Promise<Checksum> {
  const store = await openGraph(spec, target, state);
  try {
    return await checksum(store, options);
  } finally {
    await store.close();
  }
}
