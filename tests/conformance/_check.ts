/**
 * Properties under fast-check: generated corpora run through the embedded target; a failure is
 * shrunk (`_reduce.ts`) and its counterexample written as a JSON Lines file that
 * `deno task run --input FILE` reads. Runs are memoised by corpus text, so the properties of one seed share their pipeline runs
 * (fast-check draws the same corpora for the same seed).
 * @module
 */
import { basename } from "node:path";
import fc from "fast-check";
import type { CompiledSpec } from "../../src/compiler/mod.ts";
import { type CorpusModel, type Sizes, SMALL } from "./_model.ts";
import { corpusModel } from "./_arbitrary.ts";
import { type Corpus, jsonl, render, type RenderOptions } from "./_render.ts";
import { type Observation, observe } from "./_observe.ts";
import { assess, type Assessment, PROPERTIES, type Property } from "./_properties.ts";
import { reduce } from "./_reduce.ts";

export interface CheckOptions {
  seed: number;
  runs: number;
  sizes?: Sizes;
  /** Stop generating and shrinking after this long (the best counterexample so far is kept). */
  timeLimitMs?: number;
  prefix?: string;
  /** The wall clock the validation window ends after (default: now). */
  now?: number;
}

export interface Failure {
  property: Property;
  /** What the property says, and what was wrong with the counterexample. */
  message: string;
  /** The shrunk counterexample: JSON lines, and the file holding them. */
  lines: string[];
  /** Records per batch it failed with (5000: one batch, as `deno task run` reads a file). */
  batchSize: number;
  file: string;
  seed: number;
  /** fast-check's path to the failing case before shrinking (with the seed, it replays it). */
  path?: string;
  shrinks: number;
  interrupted: boolean;
}

/** Runs corpora through the embedded target, once each. */
export function createRunner(spec: CompiledSpec, options: { prefix?: string; now?: number } = {}) {
  const memo = new Map<string, Observation>();
  const validation = spec.spec.validation;
  const renderOptions: RenderOptions = {
    prefix: options.prefix ?? "conf-",
    now: options.now ?? Date.now(),
    min_timestamp: validation.min_timestamp,
    max_future_seconds: validation.max_future_seconds,
  };
  const corpusOf = (model: CorpusModel) => render(model, renderOptions);
  return {
    corpusOf,
    async run(corpus: Corpus): Promise<Assessment> {
      const key = `${corpus.batchSize}\n${jsonl(corpus)}`;
      let obs = memo.get(key);
      if (!obs) {
        obs = await observe(spec, corpus);
        if (memo.size > 500) memo.clear();
        memo.set(key, obs);
      }
      return assess(corpus, obs);
    },
  };
}

export type Runner = ReturnType<typeof createRunner>;

/** Check one property on `runs` generated corpora; undefined when it holds. */
export async function checkProperty(
  runner: Runner,
  property: Property,
  options: CheckOptions,
): Promise<Failure | undefined> {
  const violations = async (model: CorpusModel) =>
    (await runner.run(runner.corpusOf(model))).violations[property];
  // Every run, whatever the time (a loaded machine must not pass by running fewer); the first
  // failure is then shrunk (`_reduce.ts`) until the time limit.
  const details = await fc.check(
    fc.asyncProperty(corpusModel(options.sizes ?? SMALL), async (model) => {
      const found = await violations(model);
      if (found.length) throw new Error(found.slice(0, 20).join("\n"));
    }),
    { seed: options.seed, numRuns: options.runs, endOnFailure: true },
  );
  if (!details.failed || !details.counterexample) return undefined;
  const deadline = Date.now() + (options.timeLimitMs ?? 60_000);
  const reduced = await reduce(
    (details.counterexample as [CorpusModel])[0],
    async (model) => (await violations(model)).length > 0,
    deadline,
  );
  const corpus = runner.corpusOf(reduced.model);
  const file = await Deno.makeTempFile({
    prefix: `ics-conformance-${property}-`,
    suffix: ".jsonl",
  });
  await Deno.writeTextFile(file, jsonl(corpus));
  return {
    property,
    message: `${PROPERTIES[property]}:\n${
      (await violations(reduced.model)).slice(0, 20).join("\n")
    }`,
    lines: corpus.lines,
    batchSize: corpus.batchSize,
    file,
    seed: options.seed,
    path: details.counterexamplePath ?? undefined,
    shrinks: reduced.steps,
    interrupted: reduced.interrupted,
  };
}

/** A failure as the test and the CLI print it. */
export function formatFailure(f: Failure): string {
  return [
    `Property failed: ${f.message}`,
    `Shrunk counterexample (${f.lines.length} lines, ${f.shrinks} shrinking steps` +
    `${f.interrupted ? ", stopped by the time limit" : ""}; seed ${f.seed}` +
    `${f.path ? `, fast-check path ${f.path}` : ""}), in ${f.file}:`,
    ...f.lines,
    `Replay: deno task run --input ${f.file} --state .ics/${basename(f.file, ".jsonl")}` +
    (f.batchSize < f.lines.length ? ` (it failed with batches of ${f.batchSize} records)` : ""),
  ].join("\n");
}
