/**
 * What the commands share: loading the spec (printing every error and exiting 1 when it is
 * invalid), opening a target's graph store, entity references, and the flag groups several
 * commands take (each declared once here; `_kafka.ts` and `_observe.ts` hold their own).
 * @module
 */
import { type CompiledSpec, formatErrors, loadSpec } from "../compiler/mod.ts";
import { UserError } from "../core/errors.ts";
import { graphStores } from "../sinks/mod.ts";
import { createComponent, type GraphStore } from "../core/component.ts";
import type { EntityRef } from "../core/types.ts";
import { resolve } from "node:path";
import { didYouMean } from "../core/did_you_mean.ts";
import { boolean, type Flags, oneOf, repeatable, string, time } from "./_flags.ts";

export const EXIT = { ok: 0, invalid: 1, usage: 2, failure: 3 } as const;

/** Exit with a code after printing: used for invalid specs, which are not exceptions. */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** The pipeline spec: every command that reads one. */
export const SPEC = {
  spec: string("FILE", "pipeline spec", { defaultHelp: "pipeline.yaml" }),
} satisfies Flags;

/** Where a target's stores are: every command that opens a target's stores. */
export const STORE = {
  ...SPEC,
  target: string("NAME", "target from the spec", { defaultHelp: "the spec's default_target" }),
  state: string("DIR", "state folder for embedded stores and checkpoints", { defaultHelp: ".ics" }),
} satisfies Flags;

/** Which iterations of the stored graph a command works on (`checksum`, `recorrelate`). */
export const SELECTION = {
  iteration: repeatable("ID", "only this iteration", {
    defaultHelp: "every iteration in the graph",
  }),
  prefix: string("P", "only iterations whose id starts with P"),
} satisfies Flags;

/** Time travel on the stored graph: valid time and system time (`query`, `links`, `explain`). */
export const TIME_TRAVEL = {
  "as-of": time("T", "as valid at T: valid time, when it was true"),
  "known-at": time("T", "as believed at T: system time, when the runner knew it", {
    defaultHelp: "now",
  }),
} satisfies Flags;

/** What the read commands `query` and `links` take: one iteration, at any point in time. */
export const READ = {
  iteration: string("ID", "only this iteration"),
  ...TIME_TRAVEL,
} satisfies Flags;

export const JSON_OUTPUT = {
  json: boolean("print JSON instead of text"),
} satisfies Flags;

export const QUIET = {
  quiet: boolean("print nothing but errors"),
} satisfies Flags;

export const DRY_RUN = {
  "dry-run": boolean("report what would change; write nothing"),
} satisfies Flags;

/** A policy evaluated over recorded events, and the report's format (`plan`, `quality`). */
export const EVALUATION = {
  corpus: string("FILE", "JSON Lines events", {
    defaultHelp: "the file source of the spec's default target",
  }),
  format: oneOf(["markdown", "json"], "F", "report format", { default: "markdown" }),
} satisfies Flags;

export async function load(specFile: string | undefined): Promise<CompiledSpec> {
  const { spec, errors } = await loadSpec(specFile ?? "pipeline.yaml");
  if (!spec) {
    console.error(formatErrors(errors));
    console.error(`\n${errors.length} error${errors.length === 1 ? "" : "s"} in the spec.`);
    throw new Exit(EXIT.invalid);
  }
  return spec;
}

type Target = CompiledSpec["spec"]["targets"][string];

/** The target `--target` names (default: the spec's default target), or a usage error. */
export function targetOf(spec: CompiledSpec, name?: string): { name: string; target: Target } {
  const chosen = name ?? spec.spec.default_target;
  const targets = spec.spec.targets;
  // Own entries only: `--target constructor` must not find Object.prototype.constructor.
  if (Object.hasOwn(targets, chosen)) return { name: chosen, target: targets[chosen] };
  const hint = didYouMean(chosen, Object.keys(targets));
  throw new UserError(
    `target "${chosen}" is not defined in ${spec.file}${
      hint ? ` (did you mean "${hint}"?)` : ""
    }; targets: ${Object.keys(targets).join(", ")}`,
  );
}

/** Open only the graph store of a target: what the read commands need. */
export async function openGraph(
  spec: CompiledSpec,
  target?: string,
  state?: string,
): Promise<GraphStore> {
  const t = targetOf(spec, target).target;
  const ctx = { stateDir: resolve(state ?? ".ics"), specDir: spec.dir, log: () => {} };
  return await createComponent(graphStores, t.graph, ctx);
}

/**
 * The corpus of `plan` and `quality`: `--corpus`, else `configured` (relative to the spec), else
 * the path of the default target's file source; a usage error when it is not a file.
 */
export async function corpusOf(
  spec: CompiledSpec,
  flag: string | undefined,
  configured?: string,
): Promise<string> {
  const source = spec.spec.targets[spec.spec.default_target]?.source as
    | { type: string; path?: string }
    | undefined;
  const corpus = flag
    ? resolve(flag)
    : configured
    ? resolve(spec.dir, configured)
    : source?.type === "file" && source.path
    ? resolve(spec.dir, source.path)
    : undefined;
  if (!corpus) {
    throw new UserError(
      `the default target "${spec.spec.default_target}" does not read a file: pass --corpus FILE`,
    );
  }
  if (!(await Deno.stat(corpus).catch(() => undefined))?.isFile) {
    throw new UserError(`corpus "${corpus}" is not a file`);
  }
  return corpus;
}

/** `Label:iteration:key` (a multi-field key joined by `|`), e.g. `Module:it-0001:api.user_service`. */
export function parseRef(text: string): EntityRef {
  const [label, iteration_id, ...rest] = text.split(":");
  if (!label || !iteration_id || rest.length === 0) {
    throw new UserError(
      `entity "${text}" is not of the form Label:iteration:key (e.g. Module:it-0001:api.user_service)`,
    );
  }
  return { label, iteration_id, key: rest.join(":").split("|") };
}

export function formatRef(ref: { label: string; iteration_id: string; key: string[] }): string {
  return `${ref.label}:${ref.iteration_id}:${ref.key.join("|")}`;
}

export function iso(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? "-" : new Date(ms).toISOString();
}
