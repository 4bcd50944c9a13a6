/**
 * Decode and validate: raw bytes become a schema-checked {@link Event} of a known stream, or a
 * categorised failure (`decode_error` for bytes that are not an event at all, `schema_violation`
 * for an event that breaks its stream's contract or the spec's validation limits).
 *
 * Beyond the schema: ids (event_id, iteration_id, every field forming an entity key) hold no
 * control characters, paths (`validation.path_fields`) are repo-relative, the metadata map is
 * bounded, and the time is plausible. Everything else is stored verbatim, whatever it contains
 * (quotes, Cypher or SQL text, any Unicode): the stores take values only as parameters.
 * @module
 */
import type avro from "avsc";
import type { DlqCategory, Event, RawRecord } from "../core/types.ts";
import type { CompiledSpec, CompiledStream } from "../compiler/types.ts";
import { Buffer } from "node:buffer";
import { readField } from "../core/fields.ts";
import { decodeJson, numberSource } from "./json.ts";
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
  // An Avro container file names its writer schema; the stream is the one whose schema has that
  // full name (trimodal.events.dde.DdeEvent is dde's), unless the file source names the stream.
  const streamOfSchema = new Map([...compiled.streams.values()].map((s) => [s.type.name, s.name]));
  return (record) => {
    if (record.invalid) return fail(record.invalid.category, record.invalid.reason, record.stream);
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
            : type === undefined
            ? `missing required field "event_type"`
            : `field "event_type" has ${
              describe(type, () => numberSource(parsed.text, ["event_type"]))
            }, expected a string`,
        );
      }
      const s = compiled.streams.get(stream);
      if (!s) return fail("schema_violation", `unknown stream "${stream}"`);
      const checked = conform(s.type, parsed.value, (path) => numberSource(parsed.text, path));
      if (!checked.ok) return fail("schema_violation", checked.reason, stream);
      return plausible(checked.event, s, limits, now());
    }
    const writer = record.format === "avro" ? record.writer : undefined;
    const stream = record.stream ?? (writer ? streamOfSchema.get(writer.name!) : undefined);
    const s = stream ? compiled.streams.get(stream) : undefined;
    if (!s) {
      return fail(
        "decode_error",
        writer && !record.stream
          ? `writer schema ${writer.name} is the schema of no stream (${
            [...streamOfSchema].map(([name, s]) => `${s}: ${name}`).join(", ")
          }); name the stream with the file source's "stream:"`
          : `binary record without a known stream`,
      );
    }
    const decoded = record.format === "avro_confluent"
      ? decodeConfluent(record.value, writerSchema, s.type)
      : decodeAvro(s.type, record.value, writer);
    if (!decoded.ok) {
      const { category } = decoded as { category?: DlqCategory };
      return fail(category ?? "decode_error", decoded.reason, stream);
    }
    if (replacedInvalidUtf8(decoded.event, record.value)) {
      return fail("decode_error", "Avro body holds a string that is not valid UTF-8", stream);
    }
    return plausible(decoded.event as Event, s, limits, now());
  };
}

/**
 * An object with every field of a record type (null), in order. An event built by adding its
 * fields one by one to `{}` turns into a dictionary (V8 does so past a dozen properties added by
 * computed name), about 1 KB an event; a copy of this shape, its fields then overwritten, keeps
 * the compact layout (about 200 bytes). An event missing a required field is rejected whole, so
 * a successful one has every field set either way.
 */
const shapes = new WeakMap<avro.Type, Record<string, null>>();
function shapeOf(type: avro.Type): Record<string, null> {
  let shape = shapes.get(type);
  if (!shape) {
    const fields = (type as avro.types.RecordType).fields.map((f) => [f.name, null]);
    // JSON.parse builds the object with fast, in-object properties; a spread copy keeps its map.
    shape = JSON.parse(JSON.stringify(Object.fromEntries(fields))) as Record<string, null>;
    shapes.set(type, shape);
  }
  return shape;
}

/**
 * Check a JSON object against the stream's Avro schema. Absent fields with a default get it (a
 * fresh copy: defaults such as `{}` must not be shared); unknown fields are dropped, as an Avro
 * reader with an older schema would.
 */
function conform(
  type: avro.Type,
  value: Record<string, unknown>,
  source: (path: string[]) => string | undefined,
): { ok: true; event: Event } | { ok: false; reason: string } {
  const fields = (type as avro.types.RecordType).fields;
  const event: Record<string, unknown> = { ...shapeOf(type) };
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
      problems.push(
        `field "${path.join(".")}" has ${describe(v, () => source(path))}, expected ${expected(t)}`,
      );
    },
  });
  return problems.length
    ? { ok: false, reason: problems.join("; ") }
    : { ok: true, event: event as Event };
}

/** Checks beyond the schema: ids, paths, the size of metadata, implausible times. */
function plausible(
  event: Event,
  stream: CompiledStream,
  limits: CompiledSpec["spec"]["validation"],
  now: number,
): Decoded {
  const name = stream.name;
  for (const f of ["event_id", "iteration_id"] as const) {
    if (event[f].trim() === "") return fail("schema_violation", `field "${f}" is empty`, name);
  }
  for (const f of stream.pathFields) {
    const problem = pathProblem(readField(event, f));
    if (problem) {
      return fail("schema_violation", `field "${f}" is not a repo-relative path: ${problem}`, name);
    }
  }
  for (const f of stream.idFields) {
    const value = readField(event, f);
    if (hasControl(value)) {
      return fail("schema_violation", `field "${f}" contains control characters`, name);
    }
    const bytes = byteLength(value);
    if (bytes > limits.max_id_bytes) {
      return fail(
        "schema_violation",
        `field "${f}" is ${bytes} bytes long, more than max_id_bytes (${limits.max_id_bytes})`,
        name,
      );
    }
  }
  const metadata = event.metadata;
  if (metadata && typeof metadata === "object") {
    const n = Object.keys(metadata).length;
    if (n > limits.max_metadata_entries) {
      return fail(
        "schema_violation",
        `metadata has ${n} entries, more than max_metadata_entries (${limits.max_metadata_entries})`,
        name,
      );
    }
  }
  if (event.timestamp < limits.min_timestamp) {
    return fail(
      "schema_violation",
      `timestamp ${event.timestamp} is before min_timestamp ${limits.min_timestamp} (seconds instead of milliseconds?)`,
      name,
    );
  }
  if (event.timestamp > now + limits.max_future_seconds * 1000) {
    return fail(
      "schema_violation",
      `timestamp ${event.timestamp} is more than ${limits.max_future_seconds} s in the future`,
      name,
    );
  }
  return { ok: true, stream: name, event };
}

// C0 controls, DEL and C1 controls: nothing an identifier may contain (a newline in an id breaks
// every line-oriented output; NUL is refused by some stores).
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A string, or a list of strings (a key such as acc's `cycle`), with a control character. */
function hasControl(value: unknown): boolean {
  if (typeof value === "string") return CONTROL.test(value);
  return Array.isArray(value) && value.some((v) => typeof v === "string" && CONTROL.test(v));
}

/** UTF-8 length of an id: a string, or a list (a key such as `cycle`, stored as its JSON). */
function byteLength(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  return Array.isArray(value) ? Buffer.byteLength(JSON.stringify(value), "utf8") : 0;
}

/**
 * Why a path field's value is not repo-relative (path fields are: README, Events), or undefined.
 * `./x`, doubled or back slashes are fine (the file path rules normalise them); leaving the
 * repository (`..`) or naming an absolute path is not.
 */
function pathProblem(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  if (CONTROL.test(value)) return "it contains control characters";
  if (/^([\\/]|[A-Za-z]:)/.test(value)) return "it is absolute";
  if (value.split(/[\\/]/).includes("..")) return 'it has a ".." segment';
  return undefined;
}

/**
 * avsc decodes strings leniently: invalid UTF-8 becomes U+FFFD. A decoded string holding more
 * U+FFFD than the bytes spell out (EF BF BD) was not valid UTF-8. Cheap: the bytes are searched
 * only when a decoded string has a U+FFFD at all.
 */
function replacedInvalidUtf8(event: Record<string, unknown>, bytes: Uint8Array): boolean {
  const decoded = countReplacements(event);
  if (decoded === 0) return false;
  let spelled = 0;
  for (
    let i = bytes.indexOf(0xef);
    i !== -1 && i + 2 < bytes.length;
    i = bytes.indexOf(0xef, i + 1)
  ) {
    if (bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) spelled++;
  }
  return decoded > spelled;
}

function countReplacements(value: unknown): number {
  if (typeof value === "string") {
    let n = 0;
    for (let i = value.indexOf("\ufffd"); i !== -1; i = value.indexOf("\ufffd", i + 1)) n++;
    return n;
  }
  if (value === null || typeof value !== "object") return 0;
  let n = 0;
  if (Array.isArray(value)) { for (const v of value) n += countReplacements(v); }
  else {
    for (const [k, v] of Object.entries(value)) n += countReplacements(k) + countReplacements(v);
  }
  return n;
}

function fail(category: DlqCategory, reason: string, stream?: string): Decoded {
  // Reasons quote the input (JSON.parse quotes the bytes around an error): escape control
  // characters, so a reason stays one printable line in logs, terminals and Kafka headers.
  return { ok: false, category, reason: reason.replace(CONTROLS, escape), stream };
}

// deno-lint-ignore no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** A value as a reason quotes it; a number as the input spelled it, when `source` knows. */
function describe(v: unknown, source?: () => string | undefined): string {
  if (v === undefined) return "no value";
  const spelled = typeof v === "number" ? source?.() : undefined;
  return `value ${clip(spelled ?? JSON.stringify(v) ?? String(v))}`;
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
