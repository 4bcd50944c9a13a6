/**
 * Decode and validate: raw bytes become a schema-checked {@link Event} of a known stream, or a
 * categorised failure (`decode_error` for bytes that are not an event at all, `schema_violation`
 * for an event that breaks its stream's contract or the spec's validation limits).
 * @module
 */
import type avro from "avsc";
import type { DlqCategory, Event, RawRecord } from "../core/types.ts";
import type { CompiledSpec } from "../spec/mod.ts";
import { decodeJson } from "./json.ts";
import { decodeAvro } from "./avro.ts";
import { decodeConfluent, type WriterSchemas } from "./confluent.ts";

export type Decoded =
  | { ok: true; stream: string; event: Event }
  | { ok: false; category: DlqCategory; reason: string; stream?: string };

export type Decoder = (record: RawRecord) => Decoded;

export function createDecoder(
  compiled: CompiledSpec,
  now: () => number = Date.now,
  writerSchema: WriterSchemas = () => undefined,
): Decoder {
  const limits = compiled.spec.validation;
  return (record) => {
    if (record.value.length > limits.max_event_bytes) {
      return fail(
        "schema_violation",
        `payload of ${record.value.length} bytes exceeds max_event_bytes (${limits.max_event_bytes})`,
        record.stream,
      );
    }
    if (record.format === "json") {
      const parsed = decodeJson(record.value);
      if (!parsed.ok) return fail("decode_error", parsed.reason, record.stream);
      const type = parsed.value.event_type;
      const stream = record.stream ??
        (typeof type === "string" ? compiled.streamOfEventType.get(type) : undefined);
      if (!stream) {
        return fail(
          "schema_violation",
          typeof type === "string"
            ? `event_type "${clip(type)}" is not an event type of any stream`
            : `missing required field "event_type"`,
        );
      }
      const s = compiled.streams.get(stream);
      if (!s) return fail("schema_violation", `unknown stream "${stream}"`);
      const checked = conform(s.type, parsed.value);
      if (!checked.ok) return fail("schema_violation", checked.reason, stream);
      return plausible(checked.event, stream, limits, now());
    }
    const stream = record.stream;
    const s = stream ? compiled.streams.get(stream) : undefined;
    if (!s) return fail("decode_error", `binary record without a known stream`);
    const decoded = record.format === "avro_confluent"
      ? decodeConfluent(record.value, writerSchema, s.type)
      : decodeAvro(s.type, record.value);
    if (!decoded.ok) return fail("decode_error", decoded.reason, stream);
    return plausible(decoded.event as Event, s.name, limits, now());
  };
}

/**
 * Check a JSON object against the stream's Avro schema. Absent fields with a default get it (a
 * fresh copy: defaults such as `{}` must not be shared); unknown fields are dropped, as an Avro
 * reader with an older schema would.
 */
function conform(
  type: avro.Type,
  value: Record<string, unknown>,
): { ok: true; event: Event } | { ok: false; reason: string } {
  const fields = (type as avro.types.RecordType).fields;
  const event: Record<string, unknown> = {};
  const missing: string[] = [];
  for (const f of fields) {
    const v = value[f.name];
    if (v !== undefined) event[f.name] = v;
    else {
      const d = f.defaultValue();
      if (d === undefined) missing.push(`"${f.name}"`);
      else {event[f.name] = Array.isArray(d)
          ? [...d]
          : d !== null && typeof d === "object"
          ? { ...d }
          : d;}
    }
  }
  if (missing.length) {
    return {
      ok: false,
      reason: `missing required field${missing.length > 1 ? "s" : ""} ${missing.join(", ")}`,
    };
  }
  const problems: string[] = [];
  type.isValid(event, {
    errorHook: (path: string[], v: unknown, t: avro.Type) => {
      problems.push(`field "${path.join(".")}" has ${describe(v)}, expected ${expected(t)}`);
    },
  });
  return problems.length
    ? { ok: false, reason: problems.join("; ") }
    : { ok: true, event: event as Event };
}

/** Checks beyond the schema: ids that are empty or hold control characters, implausible times. */
function plausible(
  event: Event,
  stream: string,
  limits: CompiledSpec["spec"]["validation"],
  now: number,
): Decoded {
  for (const f of ["event_id", "iteration_id"] as const) {
    if (event[f].trim() === "") return fail("schema_violation", `field "${f}" is empty`, stream);
    // deno-lint-ignore no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(event[f])) {
      return fail("schema_violation", `field "${f}" contains control characters`, stream);
    }
  }
  if (event.timestamp < limits.min_timestamp) {
    return fail(
      "schema_violation",
      `timestamp ${event.timestamp} is before min_timestamp ${limits.min_timestamp} (seconds instead of milliseconds?)`,
      stream,
    );
  }
  if (event.timestamp > now + limits.max_future_seconds * 1000) {
    return fail(
      "schema_violation",
      `timestamp ${event.timestamp} is more than ${limits.max_future_seconds} s in the future`,
      stream,
    );
  }
  return { ok: true, stream, event };
}

function fail(category: DlqCategory, reason: string, stream?: string): Decoded {
  return { ok: false, category, reason, stream };
}

function describe(v: unknown): string {
  if (v === undefined) return "no value";
  return `value ${clip(JSON.stringify(v) ?? String(v))}`;
}

function expected(t: avro.Type): string {
  const name = t.typeName;
  if (name === "enum") return `one of ${(t as avro.types.EnumType).symbols.join(", ")}`;
  if (name.startsWith("union")) {
    return (t as unknown as { types: avro.Type[] }).types.map((x) => x.typeName).join(" or ");
  }
  return name.replace("logical:", "");
}

function clip(text: string): string {
  return text.length > 80 ? text.slice(0, 77) + "..." : text;
}
