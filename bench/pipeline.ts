/**
 * `deno task bench`: the embedded pipeline end to end (file → decode → validate → dedup → map →
 * correlate → SQLite graph, metrics and dead letters) over generated corpora, one fresh process
 * per size so peak memory (VmHWM) is that run's own. Prints events/s and peak RSS per size, and
 * the floor of this machine for the same work (`_floor.ts`): parsing the corpus and persisting the
 * rows the run left, with nothing in between, as events/s and the pipeline's ratio to it.
 *
 *   deno task bench                 # 200k and 1M events
 *   deno task bench 200000          # one size
 *   deno task bench 200000 --durability=power_loss   # runtime.durability (default: the spec's)
 * @module
 */
import { corpusFile } from "./_corpus_file.ts";
import { floor } from "./_floor.ts";

const flags = Deno.args.filter((a) => a.startsWith("--"));
const durability = flags.find((f) => f.startsWith("--durability="))?.split("=")[1];
const numbers = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
const sizes = numbers.length ? numbers : [200_000, 1_000_000];
const root = new URL("..", import.meta.url).pathname;
const cache = `${root}.cache/bench`;
await Deno.mkdir(cache, { recursive: true });

console.log(
  "events      seconds   events/s   peak RSS MiB   live heap MiB   link versions   " +
    "CPU s   main-thread CPU s   floor: rows   parse ev/s   persist ev/s   both ev/s   pipeline/both   raw persist ev/s",
);
for (const size of sizes) {
  const file = await corpusFile(cache, size);
  const state = await Deno.makeTempDir({ prefix: "ics-bench-" });
  const out = await new Deno.Command(Deno.execPath(), {
    // -A: reading /proc/self/status (peak RSS) needs it; the child runs only our own code.
    args: [
      ...["run", "-A", "--v8-flags=--expose-gc", `${root}bench/_run_once.ts`, file, state],
      ...(durability ? [durability] : []),
    ],
    stderr: "inherit",
  }).output();
  if (!out.success) Deno.exit(1);
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  const f = await floor(file, state);
  await Deno.remove(state, { recursive: true });
  const rate = (ms: number) => Math.round(r.events / (ms / 1000));
  console.log(
    [
      String(r.events).padEnd(11),
      (r.elapsed_ms / 1000).toFixed(2).padStart(7),
      Math.round(r.events / (r.elapsed_ms / 1000)).toString().padStart(10),
      (r.peak_rss_kb / 1024).toFixed(0).padStart(14),
      r.live_heap_mb.toFixed(0).padStart(15),
      String(r.links).padStart(15),
      r.cpu_s.toFixed(1).padStart(5),
      r.main_cpu_s.toFixed(1).padStart(19),
      String(f.rows).padStart(13),
      String(rate(f.parse_ms)).padStart(12),
      String(rate(f.persist_ms)).padStart(14),
      String(rate(f.parse_ms + f.persist_ms)).padStart(11),
      (rate(r.elapsed_ms) / rate(f.parse_ms + f.persist_ms)).toFixed(2).padStart(15),
      String(rate(f.raw_ms)).padStart(18),
    ].join(" "),
  );
}
