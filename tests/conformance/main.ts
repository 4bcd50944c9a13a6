/**
 * `deno task conformance [--runs N] [--seed S] [--scale K] [--time-limit SECONDS] [--spec FILE]`:
 * a long conformance run. Prints the measurement table over N generated corpora, then checks every
 * property on the same corpora; a failure prints its shrunk counterexample (and the file holding
 * it, for `deno task run --input FILE`). Exit code 1 when a property fails.
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import { loadSpec } from "../../src/compiler/mod.ts";
import {
  addTally,
  checkProperty,
  corpusModel,
  createRunner,
  emptyTally,
  formatFailure,
  formatTally,
  PROPERTIES,
  type Property,
  type Sizes,
  SMALL,
} from "./mod.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string", default: "100" },
    seed: { type: "string" },
    scale: { type: "string", default: "1" },
    "time-limit": { type: "string", default: "120" },
    spec: { type: "string", default: "pipeline.yaml" },
  },
});
const number = (flag: string, text: string) => {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${flag} "${text}" is not a whole number`);
    Deno.exit(2);
  }
  return n;
};
const runs = number("runs", values.runs);
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : number("seed", values.seed);
const scale = Math.max(1, number("scale", values.scale));
const timeLimitMs = number("time-limit", values["time-limit"]) * 1000;
const sizes = Object.fromEntries(
  Object.entries(SMALL).map(([k, v]) => [k, v * scale]),
) as unknown as Sizes;

const { spec, errors } = await loadSpec(values.spec);
if (!spec) {
  console.error(`${values.spec} does not load: ${errors.map((e) => e.message).join("; ")}`);
  Deno.exit(1);
}
const runner = createRunner(spec);
console.log(`ics conformance: ${runs} corpora, seed ${seed}, scale ${scale}, spec ${values.spec}`);

const total = emptyTally();
for (const model of fc.sample(corpusModel(sizes), { seed, numRuns: runs })) {
  addTally(total, (await runner.run(runner.corpusOf(model))).tally);
}
console.log(`\n${formatTally(total, runs)}\n`);

let failed = 0;
for (const property of Object.keys(PROPERTIES) as Property[]) {
  const failure = await checkProperty(runner, property, { seed, runs, sizes, timeLimitMs });
  console.log(`${failure ? "FAIL" : "ok  "}  ${PROPERTIES[property]}`);
  if (failure) {
    failed++;
    console.log(`\n${formatFailure(failure)}\n`);
  }
}
console.log(`\n${failed ? `${failed} properties failed` : "every property holds"} (seed ${seed})`);
Deno.exit(failed ? 1 : 0);
