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
    why: "over validation.max_event_bytes: refused before parsing",
    line: dde({ error_message: "x".repeat(MAX_EVENT_BYTES) }),
    expect: violation(/^payload of \d+ bytes exceeds max_event_bytes \(1048576\)$/),
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

  // Valid events that cannot become a graph entity: mapping_error.
  {
    name: "empty-key",
    why: "a TASK event with an empty node_id names no task",
    line: dde({ node_id: "" }),
    expect: unmappable(/^TASK_STARTED maps to Task, whose key "node_id" is missing or empty$/),
  },
  {
    name: "blank-key",
    why: "a path of blanks names no artifact",
    line: dde({ event_type: "ARTIFACT_CREATED", artifact_id: "art-poison", artifact_path: "   " }),
    expect: unmappable(/^ARTIFACT_CREATED maps to Artifact, whose key "artifact_path" is missing/),
  },
  {
    name: "missing-key",
    why: "a contract event without contract_id",
    line: dde({ event_type: "CONTRACT_LOCKED", contract_name: "PoisonAPI" }),
    expect: unmappable(/^CONTRACT_LOCKED maps to Contract, whose key "contract_id" is missing/),
  },
  {
    name: "null-key",
    why: "scenario_id null on a scenario event",
    line: bdv({ scenario_id: null }),
    expect: unmappable(/^SCENARIO_PASSED maps to Scenario, whose key "scenario_id" is missing/),
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
const LONG_ID = "long-" + "x".repeat(10_000);

export const VALID: PoisonCase[] = [
  {
    name: "quotes-in-path",
    why: "quotes and backslashes are legal in file names",
    line: dde({
      event_type: "ARTIFACT_CREATED",
      artifact_id: "art-quoted",
      artifact_path: QUOTED_PATH,
    }, OK),
    expect: stored("Artifact", [QUOTED_PATH], { artifact_path: QUOTED_PATH }),
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
    expect: stored("Module", ["poison.dotted"], { module_path: "src/..hidden/a..b.py" }),
  },
  {
    name: "dot-slash-path",
    why: "./, doubled and back slashes are normalised by the file path rules, stored as sent",
    line: acc({ module_path: ".\\src//poison\\odd.py", module_name: "poison.odd" }, OK),
    expect: stored("Module", ["poison.odd"], { module_path: ".\\src//poison\\odd.py" }),
  },
  {
    name: "long-id",
    why: "10,000 characters is long, not wrong",
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
