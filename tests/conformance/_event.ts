/**
 * Building one event from the model's choices: the required fields, the subject the caller names,
 * and the type's other optional fields from the noise (absent, null or a value). Also the path
 * noise (`./`, back slashes, doubled slashes) and its inverse, the normalisation EVENTS.md names.
 * @module
 */
import { NEVER_NULL, optionalFields, PRODUCER, STREAM_ID, TYPES } from "./_contract.ts";
import type { EntityBits, EventBits, IterationModel, Noise, PathNoise } from "./_model.ts";
import { SPAN_MS } from "./_model.ts";
import { PACKAGES } from "./_words.ts";

/** `./` prefix, back slashes and doubled slashes away: the form EVENTS.md compares. */
export function normPath(path: string): string {
  let p = path.replaceAll("\\", "/").replace(/\/{2,}/g, "/");
  while (p.startsWith("./")) p = p.slice(2);
  return p;
}

/** A repo-relative path with normalisation noise: never absolute, never `..`. */
export function noisy(path: string, n: PathNoise): string {
  const parts = path.split("/");
  let out = n.dot ? "./" : "";
  parts.forEach((part, i) => {
    if (i > 0) {
      const sep = (n.back >> (i - 1)) & 1 ? "\\" : "/";
      out += (n.double >> (i - 1)) & 1 ? sep + sep : sep;
    }
    out += part;
  });
  return out;
}

/** An event as emitted, and when it arrives (its order key in the input). */
export interface Emitted {
  event: Record<string, unknown>;
  order: number;
}

/** What the renderers share for one iteration. */
export interface IterationContext {
  model: IterationModel;
  iteration_id: string;
  /** Epoch ms of the iteration's window start. */
  t0: number;
  out: Emitted[];
  /** Words for planted pairs, taken in order; none is used twice in an iteration. */
  take(n: number): string[] | undefined;
}

const pick = <T>(list: readonly T[], n: number): T => list[Math.abs(n) % list.length];

/** The value of an optional field from the noise, shaped for its field. */
function noiseValue(field: string, stream: string, noise: Noise, path: PathNoise): unknown {
  if (field === "status") return noise[`${stream}_status`];
  const v = noise[field];
  if (v === undefined || v === null) return v;
  if (field === "feature_file") return noisy(`features/${v}.feature`, path);
  if (field === "target_module") {
    const [k, stem] = v as [number, string];
    return `${pick(PACKAGES, k)}.${stem}`;
  }
  if (field === "metadata" || field === "tags") return structuredClone(v);
  return v;
}

/**
 * One event of `type` at `offset` ms into the iteration's window. `set` names the subject and
 * any field the caller decides (undefined: absent); every other optional field of the type comes
 * from the noise.
 */
export function emit(
  ctx: IterationContext,
  type: string,
  offset: number,
  bits: EventBits,
  set: Record<string, unknown>,
): void {
  const { stream } = TYPES[type];
  const at = Math.min(SPAN_MS, Math.max(0, Math.round(offset)));
  const ids = ctx.model.ids;
  const streamIds = stream === "dde" ? ids.workflow : stream === "bdv" ? ids.run : ids.analysis;
  const event: Record<string, unknown> = {
    event_id: "",
    event_type: type,
    iteration_id: ctx.iteration_id,
    timestamp: ctx.t0 + at,
    producer: PRODUCER[stream],
    [STREAM_ID[stream]]: pick(streamIds, bits.type),
  };
  for (const field of optionalFields(type)) {
    if (field in set) continue;
    const v = noiseValue(field, stream, bits.noise, bits.path);
    if (v !== undefined) event[field] = v;
  }
  for (const [field, v] of Object.entries(set)) {
    if (v === undefined || (v === null && NEVER_NULL.has(field))) delete event[field];
    else event[field] = v;
  }
  ctx.out.push({ event, order: at + bits.late });
}

/** A link field on an event of an entity: the carrier has it, the others absent, null or it. */
export function echo(value: unknown, i: number, carrier: number, bits: EventBits): unknown {
  if (i === carrier || bits.echo === 2) return value;
  return bits.echo === 1 ? null : undefined;
}

/** The noise's metadata with `dde_node_id` set (a value) or removed (undefined). */
export function metadataWith(bits: EventBits, dde_node_id: unknown): unknown {
  const base = { ...(bits.noise.metadata as Record<string, string> | undefined ?? {}) };
  delete base.dde_node_id;
  if (typeof dde_node_id === "string") base.dde_node_id = dde_node_id;
  return Object.keys(base).length || bits.noise.metadata ? base : undefined;
}

/**
 * The events of one entity: its first at `start` ms, the others up to a minute after. `fields`
 * gives each event's fields (its index, whether it carries the link, its bits).
 */
export function entity(
  ctx: IterationContext,
  bits: EntityBits,
  start: number,
  types: readonly string[],
  fields: (i: number, carrier: number, e: EventBits) => Record<string, unknown>,
): void {
  const carrier = bits.carrier % bits.events.length;
  bits.events.forEach((e, i) => {
    const offset = i === 0 ? start : start + e.after;
    emit(ctx, pick(types, e.type), offset, e, fields(i, carrier, e));
  });
}

export const startOf = (bits: EntityBits) => Math.round(bits.start * SPAN_MS);
export { pick };
