/**
 * `deno task bench:scale`: does correlation cost grow with the size of an iteration? The embedded
 * pipeline (one fresh process per run, as `deno task bench`) over ONE iteration of about 3K, 12K
 * and 48K events (`_scale_corpus.ts`), once with names that share words (Zipf-weighted vocabulary:
 * `user_service`, `user_api`, `order_service`, ...) and once with names that share none. Prints
 * events/s per size, the ratio of the largest size's rate to the smallest's (the target is at least
 * 0.8: flat), the links found, and checks recall: every planted pair (artifact ~ module by path and
 * by name, feature ~ artifact, task ~ scenario) must be linked by its rule, and no link may touch a
 * planted near miss (`user_services`). Exits 1 when a check fails.
 *
 *   deno task bench:scale                      # 3000 12000 48000, both vocabularies
 *   deno task bench:scale 3000 48000           # these sizes
 *   deno task bench:scale --vocabulary shared  # one vocabulary
 * @module
 */
import { parseArgs } from "node:util";
import { scaleCorpus, type Vocabulary } from "./_scale_corpus.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: { vocabulary: { type: "string", multiple: true }, gap: { type: "string" } },
});
const sizes = positionals.length ? positionals.map(Number) : [3_000, 12_000, 48_000];
const vocabularies = (values.vocabulary ?? ["shared", "distinct"]) as Vocabulary[];
const gapMs = Number(values.gap ?? 10_000);
const root = new URL("..", import.meta.url).pathname;
let failed = false;

console.log(`one iteration per run, modules ${gapMs / 1000} s apart\n`);
console.log(
  "vocabulary  events   modules  seconds   events/s   links  planted linked  stray  near misses",
);
for (const vocabulary of vocabularies) {
  const rates: number[] = [];
  for (const size of sizes) {
    const corpus = scaleCorpus({ events: size, vocabulary, gapMs });
    const dir = await Deno.makeTempDir({ prefix: "ics-scale-" });
    const file = `${dir}/events.jsonl`;
    await Deno.writeTextFile(file, corpus.events.map((e) => JSON.stringify(e) + "\n").join(""));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}bench/_scale_once.ts`, file, `${dir}/state`],
      stderr: "inherit",
    }).output();
    await Deno.remove(dir, { recursive: true });
    if (!out.success) Deno.exit(1);
    const r = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      events: number;
      elapsed_ms: number;
      near_misses: number;
      near_misses_by_rule: Record<string, number>;
      links: string[];
    };
    // Links by unordered pair, with their rules.
    const rulesOf = new Map<string, Set<string>>();
    for (const line of r.links) {
      const [a, b, rules] = line.split("|");
      rulesOf.set([a, b].sort().join("|"), new Set(rules.split(",")));
    }
    const linked = corpus.planted.filter((p) =>
      rulesOf.get([p.a, p.b].sort().join("|"))?.has(p.rule)
    );
    const misses = new Set(corpus.nearMisses);
    const stray = r.links.filter((l) => l.split("|").slice(0, 2).some((e) => misses.has(e)));
    const rate = Math.round(r.events / (r.elapsed_ms / 1000));
    rates.push(rate);
    console.log(
      [
        vocabulary.padEnd(10),
        String(r.events).padStart(7),
        String(corpus.modules).padStart(9),
        (r.elapsed_ms / 1000).toFixed(2).padStart(8),
        String(rate).padStart(10),
        String(r.links.length).padStart(7),
        `${linked.length}/${corpus.planted.length}`.padStart(15),
        String(stray.length).padStart(6),
        String(r.near_misses).padStart(12),
      ].join(" "),
    );
    const byRule = Object.entries(r.near_misses_by_rule).filter(([, n]) => n > 0);
    if (byRule.length) {
      console.log(`  near misses: ${byRule.map(([k, n]) => `${k} ${n}`).join(", ")}`);
    }
    if (linked.length < corpus.planted.length || stray.length) {
      failed = true;
      const lost = corpus.planted.filter((p) => !linked.includes(p)).slice(0, 5);
      for (const p of lost) console.log(`  not linked: ${p.rule} ${p.a} ~ ${p.b}`);
      for (const l of stray.slice(0, 5)) console.log(`  near miss linked: ${l}`);
    }
  }
  if (rates.length > 1) {
    const ratio = rates.at(-1)! / rates[0];
    console.log(
      `${vocabulary}: events/s at ${sizes.at(-1)} / at ${sizes[0]} = ${ratio.toFixed(2)}` +
        ` (target >= 0.8)\n`,
    );
  }
}
if (failed) Deno.exit(1);
