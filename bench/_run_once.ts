/**
 * One benchmark run in its own process: prints {events, elapsed_ms, peak_rss_kb, live_heap_mb,
 * links, cpu_s, main_cpu_s} as JSON.
 */
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";

const [input, state, durability] = Deno.args;
const { spec, errors } = await loadSpec(new URL("../pipeline.yaml", import.meta.url).pathname);
if (!spec) throw new Error(JSON.stringify(errors));
if (durability) spec.spec.runtime.durability = durability as typeof spec.spec.runtime.durability;
const pipeline = await compile(spec, { input, stateDir: state });
const result = await run(pipeline);
await pipeline.close();
const status = await Deno.readTextFile("/proc/self/status");
// CPU seconds (user + system, 100 ticks a second) of the process and of its main thread (the
// thread whose id is the process id): on a shared machine the main thread's CPU time says what
// the pipeline costs better than the wall clock does.
const cpu = async (stat: string) => {
  const fields = (await Deno.readTextFile(stat)).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
// The live heap after a full collection: what the run really holds (RSS also counts garbage V8
// has not collected yet, and SQLite's page caches).
(globalThis as { gc?: () => void }).gc?.();
console.log(JSON.stringify({
  events: result.telemetry.get("events_received_total"),
  elapsed_ms: result.elapsed_ms,
  peak_rss_kb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0),
  live_heap_mb: Deno.memoryUsage().heapUsed / 2 ** 20,
  links: result.telemetry.get("link_versions_total"),
  cpu_s: await cpu("/proc/self/stat"),
  main_cpu_s: await cpu(`/proc/self/task/${Deno.pid}/stat`),
}));
