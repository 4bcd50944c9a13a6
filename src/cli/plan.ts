/** `ics plan --base REF`: what a policy change does to the links of recorded events. */
import { parseArgs } from "node:util";
import { relative, resolve } from "node:path";
import { EXIT, Exit, load } from "./_common.ts";
import { UserError } from "../core/errors.ts";
import { formatErrors, loadSpec } from "../spec/mod.ts";
import type { CompiledSpec } from "../spec/mod.ts";
import { type ChangeKind, failsOn, openBase, plan, planMarkdown } from "../policy/mod.ts";

export const help = `Usage: ics plan --base REF [--corpus FILE] [--format markdown|json]
                [--fail-on removed|rescored|added|any] [--spec FILE]

Run the base policy and the working policy over the same recorded events and report the links
added, removed and rescored (old and new confidence, the rules responsible, and why the other
policy does not link the pair), grouped by rule and by iteration, with examples. The Markdown is
ready for a pull request comment.

  --base REF       the policy to compare with: a git revision (main, HEAD~1, a sha; the spec,
                   its rule files and Avro schemas are read from git), a folder holding the
                   spec, or a spec file
  --corpus FILE    JSON Lines events (default: the file source of the spec's default target)
  --format F       markdown (default) or json
  --fail-on KINDS  exit 1 when the plan has changes of these kinds (comma-separated:
                   removed, rescored, added, any)
  --examples N     examples per rule in the Markdown (default 3)
  --spec FILE      the working spec (default pipeline.yaml)

Exit codes: 0 done (no --fail-on change), 1 a --fail-on change or an invalid spec, 2 bad usage,
3 runtime failure.`;

const KINDS = ["removed", "rescored", "added", "any"] as const;

export async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      base: { type: "string" },
      corpus: { type: "string" },
      format: { type: "string", default: "markdown" },
      "fail-on": { type: "string" },
      examples: { type: "string", default: "3" },
      spec: { type: "string" },
    },
  });
  if (!values.base) throw new UserError("--base is required (a git revision, folder or spec file)");
  if (!["markdown", "json"].includes(values.format)) {
    throw new UserError(`--format "${values.format}" is not one of markdown, json`);
  }
  const failOn = (values["fail-on"] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const k of failOn) {
    if (!KINDS.includes(k as typeof KINDS[number])) {
      throw new UserError(`--fail-on "${k}" is not one of ${KINDS.join(", ")}`);
    }
  }
  const examples = Number(values.examples);
  if (!Number.isInteger(examples) || examples < 0) {
    throw new UserError(`--examples "${values.examples}" is not a whole number`);
  }
  const working = await load(values.spec);
  const corpus = corpusOf(working, values.corpus);
  if (!(await Deno.stat(corpus).catch(() => undefined))?.isFile) {
    throw new UserError(`corpus "${corpus}" is not a file`);
  }
  const base = await openBase(values.base, values.spec ?? "pipeline.yaml");
  try {
    const loaded = await loadSpec(base.specFile);
    if (!loaded.spec) {
      const errors = loaded.errors.map((e) => ({ ...e, file: base.display(e.file) }));
      console.error(formatErrors(errors));
      console.error(`\nThe base policy (${base.label}) is invalid: ${errors.length} errors.`);
      throw new Exit(EXIT.invalid);
    }
    const report = await plan({
      base: { spec: loaded.spec, label: base.label },
      working: { spec: working, label: "working tree" },
      corpus,
    });
    report.corpus.path = shortName(corpus);
    console.log(
      values.format === "json" ? JSON.stringify(report, null, 2) : planMarkdown(report, examples),
    );
    return failsOn(report, failOn as (ChangeKind | "any")[]) ? EXIT.invalid : EXIT.ok;
  } finally {
    await base.cleanup();
  }
}

/** `--corpus`, or the path of the default target's file source. */
export function corpusOf(spec: CompiledSpec, corpus: string | undefined): string {
  if (corpus) return resolve(corpus);
  const source = spec.spec.targets[spec.spec.default_target]?.source as
    | { type: string; path?: string }
    | undefined;
  if (source?.type !== "file" || !source.path) {
    throw new UserError(
      `the default target "${spec.spec.default_target}" does not read a file: pass --corpus FILE`,
    );
  }
  return resolve(spec.dir, source.path);
}

function shortName(path: string): string {
  const rel = relative(Deno.cwd(), path);
  return rel.startsWith("..") ? path : rel;
}
