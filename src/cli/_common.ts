/**
 * What every command shares: loading the spec (printing every error and exiting 1 when it is
 * invalid), the `--target`/`--state` flags, time parsing and entity references.
 * @module
 */
import { type CompiledSpec, formatErrors, loadSpec } from "../spec/mod.ts";
import { UserError } from "../core/errors.ts";
import { graphStores } from "../sinks/mod.ts";
import { createComponent, type GraphStore } from "../core/component.ts";
import type { EntityRef } from "../core/types.ts";
import { resolve } from "node:path";

export const EXIT = { ok: 0, invalid: 1, usage: 2, failure: 3 } as const;

/** Exit with a code after printing: used for invalid specs, which are not exceptions. */
export class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export const COMMON_FLAGS = `
  --spec FILE      pipeline spec (default pipeline.yaml)
  --target NAME    target from the spec (default: the spec's default_target)
  --state DIR      state folder for embedded stores and checkpoints (default .ics)`;

/** parseArgs options of the flags every store-reading command takes (see COMMON_FLAGS). */
export const COMMON_OPTIONS = {
  spec: { type: "string" },
  target: { type: "string" },
  state: { type: "string" },
} as const;

export async function load(specFile: string | undefined): Promise<CompiledSpec> {
  const { spec, errors } = await loadSpec(specFile ?? "pipeline.yaml");
  if (!spec) {
    console.error(formatErrors(errors));
    console.error(`\n${errors.length} error${errors.length === 1 ? "" : "s"} in the spec.`);
    throw new Exit(EXIT.invalid);
  }
  return spec;
}

/** Open only the graph store of a target: what the read commands need. */
export async function openGraph(
  spec: CompiledSpec,
  target?: string,
  state?: string,
): Promise<GraphStore> {
  const name = target ?? spec.spec.default_target;
  // Own entries only: `--target constructor` must not find Object.prototype.constructor.
  const t = Object.hasOwn(spec.spec.targets, name) ? spec.spec.targets[name] : undefined;
  if (!t) throw new UserError(`target "${name}" is not defined in ${spec.file}`);
  const ctx = { stateDir: resolve(state ?? ".ics"), specDir: spec.dir, log: () => {} };
  return await createComponent<GraphStore>(graphStores, t.graph, ctx);
}

/** An instant from ISO 8601 text or epoch milliseconds. */
export function parseTime(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) {
    throw new UserError(`${flag} "${text}" is not an ISO 8601 time or epoch milliseconds`);
  }
  return ms;
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
