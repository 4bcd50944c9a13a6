/**
 * One `bench:scale` run in its own process: the embedded pipeline over a JSONL file, then the links
 * it stored. Prints {events, elapsed_ms, near_misses, near_misses_by_rule, links: ["Label key|Label key|rule,rule"]}.
 */
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";
import { openGraph } from "../src/cli/_common.ts";
import { type LinkRow, streamLinks } from "../src/cli/_graph.ts";

const [input, state] = Deno.args;
const { spec, errors } = await loadSpec(new URL("../pipeline.yaml", import.meta.url).pathname);
if (!spec) throw new Error(JSON.stringify(errors));
const pipeline = await compile(spec, { input, stateDir: state });
const result = await run(pipeline);
await pipeline.close();
const store = await openGraph(spec, undefined, state);
const end = (e: { label: string; key: string[] }) => `${e.label} ${e.key.join(",")}`;
const rows: LinkRow[] = [];
for await (const l of streamLinks(store, {})) rows.push(l);
const found = rows.map((l) =>
  `${end(l.from)}|${end(l.to)}|${l.rules.map((r) => r.rule).join(",")}`
);
await store.close();
console.log(JSON.stringify({
  events: result.telemetry.get("events_received_total"),
  elapsed_ms: result.elapsed_ms,
  near_misses: result.telemetry.get("correlation_near_misses_total"),
  near_misses_by_rule: Object.fromEntries(
    spec.ruleSpecs.map((
      r,
    ) => [r.id, result.telemetry.get("correlation_near_misses_total", { rule: r.id })]),
  ),
  links: found,
}));
