/**
 * The poison corpus: malformed input, each with the dead-letter category and reason it must get,
 * and unusual input that is valid and must be stored verbatim. Kept as data: `tests/poison_test.ts`
 * (embedded target, JSON Lines) and `tests/integration/poison_test.ts` (Kafka wire format, Neo4j)
 * interleave it with valid events.
 *
 * Verdicts follow EVENTS.md and the spec's `validation:` section:
 * - `decode_error`: the bytes are not an event at all (not UTF-8, not JSON, not a JSON object, a
 *   broken Confluent frame, an unknown schema id, a truncated or overlong Avro body).
 * - `schema_violation`: an event that breaks its stream's contract (unknown event type, missing
 *   field, wrong type, bad enum symbol, a writer schema that cannot be read as the stream's) or the
 *   validation limits (size, metadata entries, time window, control characters in ids, paths that
 *   are not repo-relative).
 * - `mapping_error`: a valid event whose entity key is missing, empty or blank.
 * - valid: quotes, Cypher or SQL text, backslashes, any Unicode, control characters in free text,
 *   `..` inside a file name: stored byte for byte (the stores take values only as parameters).
 *
 * Poison claims the samples' first iteration (`it-0001`): a leak would change a graph the tests
 * compare. Unusual valid events live in their own iteration ({@link OK}).
 * @module
 */
import { normalizePath } from "../../src/core/paths.ts";
import type { DlqCategory } from "../../src/core/types.ts";

/** The samples' time (2025-03-03): plausible, and inside every validation window. */
export const T0 = 1_740_992_400_000;
/** The iteration poison claims: the samples' first. */
export const BAD = "it-0001";
/** The iteration of the unusual but valid events. */
export const OK = "it-poison-ok";

export type Stream = "dde" | "bdv" | "acc";
export type Event = Record<string, unknown>;

/** What must become of a case. */
export type Expect =
  | { category: DlqCategory; reason: RegExp }
  /** Valid: this entity exists, with these exact key and property values. */
  | { stored: { label: string; key: string[]; props: Record<string, unknown> } };

export interface PoisonCase {
  name: string;
  /** What is wrong or unusual, and why the verdict. */
  why: string;
  /** The JSON Lines form: an event (JSON-encoded), a text line, or raw bytes. */
  line: Event | string | Uint8Array;
  expect: Expect;
}

let n = 0;
/** A fresh time and id suffix per event, so no two corpus events share a dedup key. */
const next = () => ++n;

/** A complete dde event (EVENTS.md JSON form); `over` replaces or adds fields. */
export function dde(over: Event = {}, iteration = BAD): Event {
  const i = next();
  return {
    event_id: `poison-dde-${i}`,
    event_type: "TASK_STARTED",
    iteration_id: iteration,
    timestamp: T0 + 500_000 + i,
    producer: "dag_executor",
    metadata: {},
    workflow_id: `wf-poison-${i}`,
    node_id: `task-poison-${i}`,
    status: "RUNNING",
    ...over,
  };
}

export function bdv(over: Event = {}, iteration = BAD): Event {
  const i = next();
  return {
    event_id: `poison-bdv-${i}`,
    event_type: "SCENARIO_PASSED",
    iteration_id: iteration,
    timestamp: T0 + 500_000 + i,
    producer: "bdv_runner",
    metadata: {},
    tags: ["@poison"],
    test_run_id: `tr-poison-${i}`,
    feature_file: `features/poison_${i}.feature`,
    scenario_id: `sc-poison-${i}`,
    scenario_name: `Poison scenario ${i}`,
    status: "PASSED",
    ...over,
  };
}

export function acc(over: Event = {}, iteration = BAD): Event {
  const i = next();
  return {
    event_id: `poison-acc-${i}`,
    event_type: "MODULE_ANALYZED",
    iteration_id: iteration,
    timestamp: T0 + 500_000 + i,
    producer: "import_graph_builder",
    metadata: {},
    cycle: [],
    analysis_id: `an-poison-${i}`,
    module_path: `src/poison/mod_${i}.py`,
    module_name: `poison.mod_${i}`,
    fan_in: 1,
    fan_out: 2,
    instability: 0.5,
    ...over,
  };
}

/** An event without some of its fields. */
function without(event: Event, ...fields: string[]): Event {
  const out = { ...event };
  for (const f of fields) delete out[f];
  return out;
}

/** JSON text of an event with `raw` (already JSON) spliced in as the value of `field`. */
function spliced(event: Event, field: string, raw: string): string {
  return JSON.stringify({ ...event, [field]: "\u0000SPLICE\u0000" })
    .replace('"\\u0000SPLICE\\u0000"', raw);
}

const bytes = (...parts: (string | number[])[]) => {
  const chunks = parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p);
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
};

const fail = (category: DlqCategory, reason: RegExp): Expect => ({ category, reason });
const decodeError = (reason: RegExp) => fail("decode_error", reason);
const violation = (reason: RegExp) => fail("schema_violation", reason);
const unmappable = (reason: RegExp) => fail("mapping_error", reason);

/** The size limit of pipeline.yaml (`validation.max_event_bytes`). */
export const MAX_EVENT_BYTES = 1_048_576;

// ---- malformed -----------------------------------------------------------------------------------

const CYPHER = "'}) DETACH DELETE n //";

export const POISON: PoisonCase[] = [
  // Not an event at all: decode_error.
  {
    name: "invalid-utf8",
    why: "bytes 0xFF 0xFE can never occur in UTF-8",
    line: bytes('{"event_id":"poison-', [0xff, 0xfe], '","event_type":"TASK_STARTED"}'),
    expect: decodeError(/^payload is not valid UTF-8$/),
  },
  {
    name: "overlong-utf8-slash",
    why: "C0 AF is an overlong '/', the classic way to smuggle ../ past a filter",
    line: bytes(
      JSON.stringify(dde()).slice(0, -1) + ',"artifact_path":"..',
      [0xc0, 0xaf],
      '..","x":1}',
    ),
    expect: decodeError(/^payload is not valid UTF-8$/),
  },
  {
    name: "utf8-surrogate",
    why: "ED A0 80 encodes a UTF-16 surrogate, which UTF-8 forbids",
    line: bytes(
      JSON.stringify(dde()).slice(0, -1) + ',"error_message":"',
      [0xed, 0xa0, 0x80],
      '"}',
    ),
    expect: decodeError(/^payload is not valid UTF-8$/),
  },
  {
    name: "truncated-json",
    why: "a line cut short by a crashed writer",
    line: JSON.stringify(dde()).slice(0, 60),
    expect: decodeError(/^payload is not valid JSON: /),
  },
  {
    name: "json-trailing-garbage",
    why: "two values on one line",
    line: JSON.stringify(dde()) + " {}",
    expect: decodeError(/^payload is not valid JSON: /),
  },
  {
    name: "json-nan",
    why: "NaN is JavaScript, not JSON",
    line: spliced(dde(), "timestamp", "NaN"),
    expect: decodeError(/^payload is not valid JSON: /),
  },
  {
    name: "json-array",
    why: "an array of events is not one event",
    line: JSON.stringify([dde()]),
    expect: decodeError(/^payload is not a JSON object$/),
  },
  {
    name: "json-string",
    why: "a bare string",
    line: '"TASK_STARTED"',
    expect: decodeError(/^payload is not a JSON object$/),
  },
  {
    name: "json-null",
    why: "a bare null",
    line: "null",
    expect: decodeError(/^payload is not a JSON object$/),
  },
  {
    name: "utf16-json",
    why: "UTF-16 text is valid UTF-8 byte for byte (NULs between the letters) but not JSON",
    line: bytes(
      Array.from(JSON.stringify(dde()).slice(0, 40)).flatMap((c) => [c.charCodeAt(0), 0]),
    ),
    expect: decodeError(/^payload is not valid JSON: /),
  },
  {
    name: "confluent-frame-in-jsonl",
    why: "a Kafka wire-format value written into a JSON Lines file",
    line: bytes([0, 0, 0, 0, 7, 2, 0x41, 0x42]),
    expect: decodeError(/^payload is not valid JSON: /),
  },

  // Breaks the stream's contract: schema_violation.
  {
    name: "unknown-event-type",
    why: "not a symbol of any stream's event_type enum",
    line: dde({ event_type: "TASK_EXPLODED" }),
    expect: violation(/^event_type "TASK_EXPLODED" is not an event type of any stream$/),
  },
  {
    name: "lower-case-event-type",
    why: "enum symbols are case-sensitive",
    line: dde({ event_type: "task_started" }),
    expect: violation(/^event_type "task_started" is not an event type of any stream$/),
  },
  {
    name: "event-type-missing",
    why: "without event_type the stream cannot be known",
    line: without(dde(), "event_type"),
    expect: violation(/^missing required field "event_type"$/),
  },
  {
    name: "event-type-number",
    why: "an enum sent as its index",
    line: dde({ event_type: 3 }),
    expect: violation(/^field "event_type" has value 3, expected a string$/),
  },
  {
    name: "missing-required-fields",
    why: "producer and workflow_id have no default",
    line: without(dde(), "producer", "workflow_id"),
    expect: violation(/^missing required fields "producer", "workflow_id"$/),
  },
  {
    name: "missing-iteration",
    why: "every event belongs to an iteration",
    line: without(bdv(), "iteration_id"),
    expect: violation(/^missing required field "iteration_id"$/),
  },
  {
    name: "required-null",
    why: "null is not a string",
    line: acc({ producer: null }),
    expect: violation(/^field "producer" has value null, expected string$/),
  },
  {
    name: "timestamp-iso-string",
    why: "timestamps are epoch milliseconds, not ISO text",
    line: dde({ timestamp: "2025-03-03T09:00:00Z" }),
    expect: violation(/^field "timestamp" has value "2025-03-03T09:00:00Z", expected long$/),
  },
  {
    name: "timestamp-fraction",
    why: "a long has no fraction",
    line: dde({ timestamp: T0 + 0.5 }),
    expect: violation(/^field "timestamp" has value 1740992400000\.5, expected long$/),
  },
  {
    name: "attempt-string",
    why: '"2" is not an int',
    line: dde({ attempt: "2" }),
    expect: violation(/^field "attempt" has value "2", expected int$/),
  },
  {
    name: "tags-not-a-list",
    why: "tags is array<string>",
    line: bdv({ tags: "@smoke" }),
    expect: violation(/^field "tags" has value "@smoke", expected array$/),
  },
  {
    name: "trace-id-number",
    why: "an optional string is null or a string",
    line: acc({ trace_id: 42 }),
    expect: violation(/^field "trace_id" has value 42, expected null or string$/),
  },
  {
    name: "bad-enum-symbol",
    why: "DONE is not a DdeStatus",
    line: dde({ status: "DONE" }),
    expect: violation(/^field "status" has value "DONE", expected one of PENDING, RUNNING, /),
  },
  {
    name: "bad-enum-case",
    why: "enum symbols are case-sensitive",
    line: acc({ event_type: "VIOLATION_DETECTED", rule_id: "r-1", severity: "error" }),
    expect: violation(/^field "severity" has value "error", expected one of INFO, WARNING, /),
  },
  {
    name: "metadata-value-number",
    why: "metadata is map<string>",
    line: dde({ metadata: { retries: 3 } }),
    expect: violation(/^field "metadata\.retries" has value 3, expected string$/),
  },
  {
    name: "metadata-deeply-nested",
    why: "10,000 levels of objects where a string belongs",
    line: spliced(
      dde(),
      "metadata",
      '{"a":' + '{"a":'.repeat(10_000) + '"x"' + "}".repeat(10_000) + "}",
    ),
    expect: violation(/^field "metadata\.a" has value \{"a":\{"a":.*\.\.\., expected string$/),
  },
  {
    name: "metadata-huge",
    why: "5,000 entries, more than max_metadata_entries (1000), yet under max_event_bytes",
    line: dde({
      metadata: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, "v"])),
    }),
    expect: violation(
      /^metadata has 5000 entries, more than max_metadata_entries \(1000\)$/,
    ),
  },
  {
    name: "oversize",
    why:
      "over validation.max_event_bytes: refused before parsing (a file source keeps 1 KiB of it)",
    line: dde({ error_message: "x".repeat(MAX_EVENT_BYTES) }),
    expect: violation(/^payload of \d+ bytes exceeds max_event_bytes \(1048576\)/),
  },
  {
    name: "timestamp-seconds",
    why: "epoch seconds instead of milliseconds: before min_timestamp",
    line: dde({ timestamp: Math.floor(T0 / 1000) }),
    expect: violation(/^timestamp 1740992400 is before min_timestamp 946684800000 \(seconds/),
  },
  {
    name: "timestamp-microseconds",
    why: "epoch microseconds: far in the future",
    line: bdv({ timestamp: T0 * 1000 }),
    expect: violation(/^timestamp 1740992400000000 is more than 86400 s in the future$/),
  },
  {
    name: "timestamp-far-future",
    why: "the year 2100",
    line: acc({ timestamp: 4_102_444_800_000 }),
    expect: violation(/^timestamp 4102444800000 is more than 86400 s in the future$/),
  },
  {
    name: "timestamp-negative",
    why: "before 1970",
    line: dde({ timestamp: -1 }),
    expect: violation(/^timestamp -1 is before min_timestamp/),
  },
  {
    name: "empty-event-id",
    why: "an event must be identifiable",
    line: dde({ event_id: "" }),
    expect: violation(/^field "event_id" is empty$/),
  },
  {
    name: "blank-iteration-id",
    why: "whitespace names no iteration",
    line: bdv({ iteration_id: " \t " }),
    expect: violation(/^field "iteration_id" is empty$/),
  },
  {
    name: "nul-in-event-id",
    why: "NUL in an id",
    line: dde({ event_id: "poison\u0000id" }),
    expect: violation(/^field "event_id" contains control characters$/),
  },
  {
    name: "del-in-iteration-id",
    why: "DEL in an id",
    line: acc({ iteration_id: `${BAD}\u007f` }),
    expect: violation(/^field "iteration_id" contains control characters$/),
  },
  {
    name: "newline-in-key",
    why: "a newline in a node id would split every line-oriented output",
    line: dde({ node_id: "build\nMATCH (n) DETACH DELETE n" }),
    expect: violation(/^field "node_id" contains control characters$/),
  },
  {
    name: "ansi-escape-in-key",
    why: "an ESC sequence in an id rewrites the operator's terminal",
    line: dde({ workflow_id: "wf-\u001b[2J\u001b[31mpwned" }),
    expect: violation(/^field "workflow_id" contains control characters$/),
  },
  {
    name: "c1-control-in-key",
    why: "U+0085 (NEL) is a line break too",
    line: bdv({ scenario_id: "sc-\u0085-poison" }),
    expect: violation(/^field "scenario_id" contains control characters$/),
  },
  {
    name: "control-in-cycle",
    why: "acc's cycle is a key; each element is an id",
    line: acc({ event_type: "CYCLE_DETECTED", cycle: ["a.b", "b.a\u0000"] }),
    expect: violation(/^field "cycle" contains control characters$/),
  },
  {
    name: "path-traversal",
    why: "artifact_path is repo-relative (EVENTS.md); ../ leaves the repository",
    line: dde({
      event_type: "ARTIFACT_CREATED",
      artifact_id: "art-poison",
      artifact_path: "../../../etc/passwd",
    }),
    expect: violation(
      /^field "artifact_path" is not a repo-relative path: it has a "\.\." segment$/,
    ),
  },
  {
    name: "path-traversal-inner",
    why: "src/../../x climbs out from inside",
    line: acc({ module_path: "src/../../../root/.ssh/id_rsa" }),
    expect: violation(/^field "module_path" is not a repo-relative path: it has a "\.\." segment$/),
  },
  {
    name: "path-traversal-backslash",
    why: "..\\ is the same climb on Windows",
    line: bdv({ feature_file: "..\\..\\windows\\system32\\x.feature" }),
    expect: violation(
      /^field "feature_file" is not a repo-relative path: it has a "\.\." segment$/,
    ),
  },
  {
    name: "path-absolute",
    why: "an absolute path is not repo-relative",
    line: acc({ module_path: "/etc/shadow" }),
    expect: violation(/^field "module_path" is not a repo-relative path: it is absolute$/),
  },
  {
    name: "path-drive-letter",
    why: "C:\\ is absolute too",
    line: dde({
      event_type: "ARTIFACT_CREATED",
      artifact_id: "art-poison",
      artifact_path: "C:\\Windows\\win.ini",
    }),
    expect: violation(/^field "artifact_path" is not a repo-relative path: it is absolute$/),
  },
  {
    name: "path-control-character",
    why: "a carriage return inside a path",
    line: acc({ module_path: "src/poison\r/x.py" }),
    expect: violation(
      /^field "module_path" is not a repo-relative path: it contains control characters$/,
    ),
  },

  {
    name: "id-too-long",
    why: "10,000 bytes: over max_id_bytes; Neo4j cannot index such an id (it stopped the runner)",
    line: dde({ node_id: "long-" + "x".repeat(10_000) }),
    expect: violation(/^field "node_id" is 10005 bytes long, more than max_id_bytes \(512\)$/),
  },
  {
    name: "id-too-long-multibyte",
    why: "300 characters, 1,200 bytes: the limit counts UTF-8 bytes",
    line: bdv({ scenario_id: "😀".repeat(300) }),
    expect: violation(/^field "scenario_id" is 1200 bytes long, more than max_id_bytes \(512\)$/),
  },

  // Valid events that cannot become a graph entity: mapping_error.
  {
    name: "empty-key",
    why: "a TASK event with an empty node_id names no task",
    line: dde({ node_id: "" }),
    expect: unmappable(/^TASK_STARTED names nothing it could be about: Task needs "node_id"$/),
  },
  {
    name: "blank-key",
    why: "a path of blanks and no artifact_id name no artifact",
    line: dde({ event_type: "ARTIFACT_CREATED", artifact_path: "   " }),
    expect: unmappable(
      /^ARTIFACT_CREATED names nothing it could be about: Artifact needs "artifact_path", else "artifact_id"$/,
    ),
  },
  {
    name: "missing-key",
    why: "a contract event with neither contract_id nor contract_name",
    line: dde({ event_type: "CONTRACT_LOCKED", contract_version: "v1" }),
    expect: unmappable(/^CONTRACT_LOCKED names nothing it could be about: Contract needs/),
  },
  {
    name: "escaped-id-too-long",
    why: "two key fields of 500 quotes each are within max_id_bytes, but JSON-escaped in the " +
      "entity id they make 2 KB, more than the graph stores can index",
    line: acc({
      event_type: "VIOLATION_DETECTED",
      module_path: null, // so the violation is keyed by its module's name
      module_name: '"'.repeat(500),
      rule_id: '"'.repeat(500),
      severity: "ERROR",
    }),
    expect: unmappable(
      /^the id of Violation .* is \d{4} bytes, more than the graph stores can index \(1300\)$/,
    ),
  },
  {
    name: "null-key",
    why: "a scenario event whose scenario_id and scenario_name are null names no scenario",
    line: bdv({ scenario_id: null, scenario_name: null }),
    expect: unmappable(/^SCENARIO_PASSED names nothing it could be about: Scenario needs/),
  },
];

// ---- unusual but valid: stored verbatim -------------------------------------------------------

const stored = (label: string, key: string[], props: Record<string, unknown>): Expect => ({
  stored: { label, key, props },
});

const QUOTED_PATH = `src/it's "quoted"/o'brien\\"x".py`;
const SQL = "'); DROP TABLE versions; -- \" OR 1=1";
const CYPHER_TEXT = `"}) MATCH (n) DETACH DELETE n // \`x\` $rows {{}}`;
const UNICODE = "✓ 测试 ünïcödé \u202eevil\u202c 😀 \u200d \ufffd";
const MULTILINE = "line one\nline two\r\n\ttabbed \u0000 nul \u001b[0m";
const LONG_ID = "é".repeat(256);

export const VALID: PoisonCase[] = [
  {
    name: "quotes-in-path",
    why: "quotes are legal in file names; a backslash is a path separator (EVENTS.md), so the " +
      "key is the normalised path and the property what the event said",
    line: dde({
      event_type: "ARTIFACT_CREATED",
      artifact_id: "art-quoted",
      artifact_path: QUOTED_PATH,
    }, OK),
    expect: stored("Artifact", [normalizePath(QUOTED_PATH)], { artifact_path: QUOTED_PATH }),
  },
  {
    name: "cypher-as-key",
    why: "an id is a value; as a parameter, Cypher text is just text",
    line: dde({ node_id: CYPHER, workflow_id: CYPHER }, OK),
    expect: stored("Task", [CYPHER], { node_id: CYPHER, workflow_id: CYPHER }),
  },
  {
    name: "cypher-and-sql-in-text",
    why: "free text may quote anything",
    line: dde({ node_id: "task-injection-text", error_message: `${CYPHER_TEXT} ${SQL}` }, OK),
    expect: stored("Task", ["task-injection-text"], { error_message: `${CYPHER_TEXT} ${SQL}` }),
  },
  {
    name: "unicode",
    why: "any Unicode, including bidi controls (format characters, not control characters) " +
      "and a real U+FFFD, in ids and text",
    line: bdv({ scenario_id: `sc-${UNICODE}`, scenario_name: UNICODE }, OK),
    expect: stored("Scenario", [`sc-${UNICODE}`], { scenario_name: UNICODE }),
  },
  {
    name: "control-characters-in-text",
    why: "an error message may span lines and hold any character",
    line: dde({ node_id: "task-multiline", error_message: MULTILINE }, OK),
    expect: stored("Task", ["task-multiline"], { error_message: MULTILINE }),
  },
  {
    name: "dots-inside-names",
    why: "..hidden and a..b are names, not parent segments",
    line: acc({ module_path: "src/..hidden/a..b.py", module_name: "poison.dotted" }, OK),
    expect: stored("Module", ["src/..hidden/a..b.py"], { module_name: "poison.dotted" }),
  },
  {
    name: "dot-slash-path",
    why: "./, doubled and back slashes are normalised in the key and by the file path rules, " +
      "stored as sent in the property",
    line: acc({ module_path: ".\\src//poison\\odd.py", module_name: "poison.odd" }, OK),
    expect: stored("Module", ["src/poison/odd.py"], { module_path: ".\\src//poison\\odd.py" }),
  },
  {
    name: "id-at-limit",
    why: "an id of exactly max_id_bytes (512) UTF-8 bytes, in two-byte characters",
    line: dde({ node_id: LONG_ID }, OK),
    expect: stored("Task", [LONG_ID], { node_id: LONG_ID }),
  },
  {
    name: "unknown-fields-dropped",
    why: "unknown fields (even deeply nested) are ignored, as an older Avro reader would",
    line: spliced(
      dde({ node_id: "task-extra-fields" }, OK),
      "extra",
      "[".repeat(5000) + "]".repeat(5000),
    ),
    expect: stored("Task", ["task-extra-fields"], {}),
  },
  {
    name: "metadata-at-limit",
    why: "exactly max_metadata_entries entries, one of them a mapped property with quotes",
    line: bdv({
      scenario_id: "sc-metadata-limit",
      metadata: {
        ...Object.fromEntries(Array.from({ length: 999 }, (_, i) => [`k${i}`, `v'${i}"`])),
        dde_node_id: `node "quoted" 'id'`,
      },
    }, OK),
    expect: stored("Scenario", ["sc-metadata-limit"], { dde_node_id: `node "quoted" 'id'` }),
  },
];

/** Every case, malformed and valid. */
export const CASES: PoisonCase[] = [...POISON, ...VALID];

/** The bytes of a case's JSON Lines form (one line, no newline). */
export function lineBytes(c: PoisonCase): Uint8Array {
  if (c.line instanceof Uint8Array) return c.line;
  return new TextEncoder().encode(typeof c.line === "string" ? c.line : JSON.stringify(c.line));
}

// ---- Kafka wire format ------------------------------------------------------------------------

/**
 * Writer schemas a foreign or broken producer might register (each under a subject of its own):
 * each edits a copy of the stream's `.avsc` into one that cannot be read as the stream's schema.
 */
export const VARIANTS = {
  /** timestamp as text */
  "dde-timestamp-string": (s: AvroSchema) => retype(s, "timestamp", "string"),
  /** no producer field (which has no default) */
  "dde-no-producer": (s: AvroSchema) => ({
    ...s,
    fields: s.fields.filter((f) => f.name !== "producer"),
  }),
  /** a status symbol the stream does not know */
  "dde-status-done": (s: AvroSchema) =>
    retype(s, "status", ["null", {
      type: "enum",
      name: "DdeStatus",
      symbols: ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "SKIPPED", "DONE"],
    }]),
  /** tags as numbers */
  "bdv-tags-int": (s: AvroSchema) => retype(s, "tags", { type: "array", items: "int" }),
  /** another record altogether (no alias) */
  "acc-renamed": (s: AvroSchema) => ({ ...s, name: "SomethingElse" }),
  /** not even a record */
  "plain-string": () => "string",
} as const;
export type Variant = keyof typeof VARIANTS;

export interface AvroSchema {
  type: "record";
  name: string;
  namespace?: string;
  fields: { name: string; type: unknown; default?: unknown }[];
}

function retype(s: AvroSchema, field: string, type: unknown): AvroSchema {
  return {
    ...s,
    fields: s.fields.map((f) => {
      if (f.name !== field) return f;
      const { default: _, ...rest } = f;
      return { ...rest, type };
    }),
  };
}

/** What a wire case needs from the test: registered ids and Avro encoders. */
export interface Wire {
  /** Registry id of the stream's own schema. */
  id(stream: Stream): number;
  /** Registry id of a variant writer schema. */
  variant(name: Variant): number;
  /** The Avro body of an event (EVENTS.md JSON form, defaults filled in) in a stream's schema. */
  body(stream: Stream, event: Event): Uint8Array;
  /** The Avro body of a value in a variant's schema (record defaults filled in too). */
  variantBody(name: Variant, value: unknown): Uint8Array;
}

export interface WireCase {
  name: string;
  why: string;
  /** The topic (stream) it is produced to. */
  stream: Stream;
  /** The record value; null is a tombstone. */
  value: (w: Wire) => Uint8Array | null;
  expect: Expect;
}

/** Confluent wire format: magic byte, 4-byte big-endian schema id, body. */
export function frame(id: number, body: Uint8Array, magic = 0): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = magic;
  new DataView(out.buffer).setUint32(1, id, false);
  out.set(body, 5);
  return out;
}

/** A schema id no registry hands out in a test run. */
export const UNKNOWN_ID = 2_000_000_011;

/** validation.max_event_bytes of the Kafka test's spec (the broker's own limit is about 1 MB). */
export const KAFKA_MAX_EVENT_BYTES = 200_000;

const avroReason = (what: string) =>
  new RegExp(`^Avro body does not match writer schema id \\d+: ${what}$`);
const unreadable = /^writer schema id \d+ cannot be read as trimodal\.events\.\w+\.\w+Event: /;

export const WIRE: WireCase[] = [
  {
    name: "wrong-magic-byte",
    why: "magic byte 1 is no Confluent frame",
    stream: "dde",
    value: (w) => frame(w.id("dde"), w.body("dde", dde()), 1),
    expect: decodeError(/^value does not start with the Confluent magic byte 0 \(found 1\)$/),
  },
  {
    name: "json-on-kafka",
    why: "a JSON producer on an Avro topic: '{' is byte 123",
    stream: "bdv",
    value: () => new TextEncoder().encode(JSON.stringify(bdv())),
    expect: decodeError(/^value does not start with the Confluent magic byte 0 \(found 123\)$/),
  },
  {
    name: "too-short",
    why: "three bytes cannot hold magic byte and schema id",
    stream: "acc",
    value: () => new Uint8Array([0, 0, 1]),
    expect: decodeError(/^value of 3 bytes is too short for the Confluent wire format/),
  },
  {
    name: "tombstone",
    why: "a null value (a compaction tombstone) is no event",
    stream: "dde",
    value: () => null,
    expect: decodeError(/^value of 0 bytes is too short for the Confluent wire format/),
  },
  {
    name: "unknown-schema-id",
    why: "an id the registry does not have (another registry, a foreign producer)",
    stream: "dde",
    value: (w) => frame(UNKNOWN_ID, w.body("dde", dde())),
    expect: decodeError(new RegExp(`^schema id ${UNKNOWN_ID} is unknown to the registry$`)),
  },
  {
    name: "truncated-avro",
    why: "the body cut in half",
    stream: "dde",
    value: (w) => {
      const body = w.body("dde", dde());
      return frame(w.id("dde"), body.subarray(0, body.length >> 1));
    },
    expect: decodeError(avroReason("truncated buffer")),
  },
  {
    name: "empty-avro-body",
    why: "a frame with no body",
    stream: "acc",
    value: (w) => frame(w.id("acc"), new Uint8Array(0)),
    expect: decodeError(avroReason("truncated buffer")),
  },
  {
    name: "trailing-bytes",
    why: "bytes after a complete record",
    stream: "bdv",
    value: (w) => frame(w.id("bdv"), new Uint8Array([...w.body("bdv", bdv()), 1, 2, 3])),
    expect: decodeError(avroReason("trailing data")),
  },
  {
    name: "huge-string-length",
    why: "event_id claims a length of about 2 GB",
    stream: "dde",
    value: (w) => {
      const body = w.body("dde", dde());
      // event_id comes first: replace its length varint (one byte for a short id).
      return frame(w.id("dde"), new Uint8Array([0xfe, 0xff, 0xff, 0xff, 0x0f, ...body.slice(1)]));
    },
    expect: decodeError(avroReason("truncated buffer")),
  },
  {
    name: "negative-string-length",
    why: "zigzag 1 is a length of -1",
    stream: "acc",
    value: (w) => {
      const body = w.body("acc", acc());
      body[0] = 1;
      return frame(w.id("acc"), body);
    },
    expect: decodeError(avroReason("truncated buffer")),
  },
  {
    name: "enum-index-out-of-range",
    why: "an event_type index past the last symbol",
    stream: "dde",
    value: (w) => {
      const event = dde({ event_id: "x" }); // a 1-byte id: the enum index is byte 2
      const body = w.body("dde", event);
      body[2] = 2 * 60;
      return frame(w.id("dde"), body);
    },
    expect: decodeError(
      avroReason("invalid trimodal\\.events\\.dde\\.DdeEventType enum index: 60"),
    ),
  },
  {
    name: "union-index-out-of-range",
    why: "trace_id's union has two branches; index 5 names none",
    stream: "bdv",
    value: (w) => {
      // trace_id's branch index is the first byte where the bodies with and without it differ.
      const event = bdv({ trace_id: null });
      const a = w.body("bdv", event);
      const b = w.body("bdv", { ...event, trace_id: "t" });
      const at = a.findIndex((x, i) => x !== b[i]);
      a[at] = 2 * 5;
      return frame(w.id("bdv"), a);
    },
    expect: decodeError(avroReason("invalid union index: 5")),
  },
  {
    name: "invalid-utf8-in-avro-string",
    why: "Avro strings are UTF-8; avsc would silently turn 0xFF into U+FFFD",
    stream: "dde",
    value: (w) => {
      const body = w.body("dde", dde({ node_id: "task-poison-utf8-Z" }));
      body[body.lastIndexOf(0x5a)] = 0xff; // the "Z"
      return frame(w.id("dde"), body);
    },
    expect: decodeError(/^Avro body holds a string that is not valid UTF-8$/),
  },
  {
    name: "oversize-avro",
    why: "a valid event over validation.max_event_bytes",
    stream: "dde",
    value: (w) =>
      frame(w.id("dde"), w.body("dde", dde({ error_message: "x".repeat(KAFKA_MAX_EVENT_BYTES) }))),
    expect: violation(
      new RegExp(`^payload of \\d+ bytes exceeds max_event_bytes \\(${KAFKA_MAX_EVENT_BYTES}\\)$`),
    ),
  },
  {
    name: "other-streams-schema",
    why: "a bdv event on the dde topic: its writer schema is not dde's",
    stream: "dde",
    value: (w) => frame(w.id("bdv"), w.body("bdv", bdv())),
    expect: violation(unreadable),
  },
  {
    name: "wrong-type-variant",
    why: "timestamp written as a string (a schema registered under another subject)",
    stream: "dde",
    value: (w) =>
      frame(
        w.variant("dde-timestamp-string"),
        w.variantBody("dde-timestamp-string", { ...dde(), timestamp: "2025-03-03" }),
      ),
    expect: violation(unreadable),
  },
  {
    name: "missing-field-variant",
    why: "a writer schema without producer, which has no default",
    stream: "dde",
    value: (w) => {
      const { producer: _, ...event } = dde();
      return frame(w.variant("dde-no-producer"), w.variantBody("dde-no-producer", event));
    },
    expect: violation(unreadable),
  },
  {
    name: "bad-enum-variant",
    why: "a writer enum with a symbol the stream does not know",
    stream: "dde",
    value: (w) =>
      frame(
        w.variant("dde-status-done"),
        w.variantBody("dde-status-done", { ...dde(), status: "DONE" }),
      ),
    expect: violation(unreadable),
  },
  {
    name: "wrong-item-type-variant",
    why: "tags written as numbers",
    stream: "bdv",
    value: (w) =>
      frame(w.variant("bdv-tags-int"), w.variantBody("bdv-tags-int", { ...bdv(), tags: [1] })),
    expect: violation(unreadable),
  },
  {
    name: "renamed-record-variant",
    why: "another record type altogether",
    stream: "acc",
    value: (w) => frame(w.variant("acc-renamed"), w.variantBody("acc-renamed", acc())),
    expect: violation(unreadable),
  },
  {
    name: "not-a-record-variant",
    why: "a schema id of a plain string schema",
    stream: "acc",
    value: (w) => frame(w.variant("plain-string"), w.variantBody("plain-string", "hello")),
    expect: violation(unreadable),
  },
];
