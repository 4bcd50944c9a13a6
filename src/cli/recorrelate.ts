/** `ics recorrelate`: apply the current correlation policy to the graph as stored. */
import { DRY_RUN, load, openGraph, SELECTION, STORE } from "./_common.ts";
import { command } from "./_command.ts";
import { createEngine } from "../correlation/mod.ts";
import { createGraphModel } from "../graph/mod.ts";
import { lockGraphState } from "../runtime/mod.ts";

export const cli = command({
  name: "recorrelate",
  summary: "apply the current correlation policy to the stored graph",
  about:
    `Re-evaluate every link of the stored graph under the current policy (pipeline.yaml and the rule
files): links the policy drops are closed in system time, rescored ones get a new version, new ones
are added; nothing is deleted, so as-of queries before now still show the old links.`,
  flags: { ...SELECTION, ...DRY_RUN, ...STORE },
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const lock = values["dry-run"]
    ? undefined
    : await lockGraphState(spec, values.target, values.state);
  const store = await openGraph(spec, values.target, values.state).catch(async (error) => {
    await lock?.close();
    throw error;
  });
  try {
    const engine = createEngine({
      rules: spec.rules,
      combine: spec.combine,
      min_confidence: spec.min_confidence,
      policy: spec.policy,
    });
    const model = createGraphModel(engine, spec.policy, store, 64);
    const all = [
      ...new Set(values.iteration ?? await (store.iterations?.() ?? Promise.resolve([]))),
    ].filter((id) => id.startsWith(values.prefix ?? ""));
    const totals = { opened: 0, closed: 0, iterations: 0 };
    for (let i = 0; i < all.length; i += 32) {
      const chunk = all.slice(i, i + 32);
      const { changes } = await model.recorrelate(chunk, Date.now());
      const links = changes.opened.filter((v) => v.kind === "link").length;
      totals.opened += links;
      totals.closed += changes.closed.filter((c) => c.kind === "link").length;
      totals.iterations += chunk.length;
      if (!values["dry-run"]) await store.write(changes);
    }
    console.log(
      `${
        values["dry-run"] ? "would recorrelate" : "recorrelated"
      } ${totals.iterations} iteration(s) ` +
        `under policy ${spec.policy}: ${totals.opened} link versions opened, ` +
        `${totals.closed} closed`,
    );
    return 0;
  } finally {
    await store.close();
    await lock?.close();
  }
}
