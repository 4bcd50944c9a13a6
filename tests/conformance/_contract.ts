/**
 * The event contract of `/work/shared/EVENTS.md`, as data the generator draws from: streams, event
 * types, which optional fields an event of each type may carry, and what each type is about (the
 * fields that name its subject). Written from EVENTS.md, not from ics's spec: where the two differ,
 * this file follows EVENTS.md.
 *
 * "What an event is about" (EVENTS.md, Common fields: only an event that names nothing it could be
 * about is a mapping_error). Each type lists alternatives; an event names its subject when every
 * field of one alternative is present (non-null, non-blank, a non-empty list). The decisions, per
 * type, where EVENTS.md leaves room:
 *
 * - `WORKFLOW_*`: the workflow (`workflow_id`, required anyway); `node_id` is never set ("null for
 *   workflow-level events").
 * - `TASK_*`: the task, `node_id`. `ARTIFACT_*`: `artifact_path` or `artifact_id` (EVENTS.md's
 *   example). `CONTRACT_*`: `contract_id` (EVENTS.md: "contract_id for CONTRACT_LOCKED"); name and
 *   version are optional properties, not an identity. `QUALITY_GATE_CHECKED`: `quality_gate`.
 * - `TEST_RUN_*`: `test_run_id` (required anyway). `FEATURE_*`: `feature_file` (EVENTS.md's
 *   example). `SCENARIO_*`, `CONTRACT_TAG_DETECTED`, `FLAKE_DETECTED`: the scenario, `scenario_id`.
 *   `STEP_EXECUTED`: the step, `step_text` (its `scenario_id` is optional).
 * - `ANALYSIS_*`, `GRAPH_BUILT`: `analysis_id` (required anyway). `MODULE_ANALYZED` and the
 *   violations (`VIOLATION_DETECTED`, `LAYERING_VIOLATION`, `COUPLING_ALERT`): the module,
 *   `module_path` or `module_name` ("in MODULE_ANALYZED and in violations alike"); a violation's
 *   `rule_id` and `target_module` stay optional. `CYCLE_DETECTED`: a non-empty `cycle`.
 *
 * Optional fields: an event carries only the fields its type's table rows speak of (the common ones,
 * its stream's generic ones and those "for" its type); each is absent, `null` or a value.
 * @module
 */

export type Stream = "dde" | "bdv" | "acc";
export const STREAMS: readonly Stream[] = ["dde", "bdv", "acc"];

export const PRODUCER: Record<Stream, string> = {
  dde: "dag_executor",
  bdv: "bdv_runner",
  acc: "import_graph_builder",
};

/** The required field of each stream besides the common ones. */
export const STREAM_ID: Record<Stream, string> = {
  dde: "workflow_id",
  bdv: "test_run_id",
  acc: "analysis_id",
};

export const STATUS: Record<Stream, readonly string[]> = {
  dde: ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "RETRYING", "SKIPPED"],
  bdv: ["PASSED", "FAILED", "SKIPPED", "PENDING", "UNDEFINED"],
  acc: [],
};
export const SEVERITY = ["INFO", "WARNING", "ERROR", "CRITICAL"] as const;

/** Optional fields every event may carry (`metadata` has a default: absent or a map, never null). */
export const COMMON_OPTIONAL = ["trace_id", "span_id", "traceparent", "metadata"] as const;

/** Optional fields any event of the stream may carry. */
export const GENERIC: Record<Stream, readonly string[]> = {
  dde: ["status", "attempt", "duration_ms", "error_message"],
  bdv: ["status", "tags", "duration_ms", "error_message"],
  acc: ["severity", "message"],
};

interface TypeSpec {
  stream: Stream;
  /** Alternatives: the subject is named when every field of one of them is present. */
  subject: readonly (readonly string[])[];
  /** Further optional fields the tables give this type. */
  fields: readonly string[];
}

const dde = (subject: string[][], fields: string[] = []): TypeSpec => ({
  stream: "dde",
  subject,
  fields,
});
const bdv = (subject: string[][], fields: string[] = []): TypeSpec => ({
  stream: "bdv",
  subject,
  fields,
});
const acc = (subject: string[][], fields: string[] = []): TypeSpec => ({
  stream: "acc",
  subject,
  fields,
});

const task = dde([["node_id"]]);
const artifact = dde([["artifact_path"], ["artifact_id"]], ["node_id"]);
const contract = dde([["contract_id"]], ["node_id", "contract_name", "contract_version"]);
const feature = bdv([["feature_file"]], ["feature_name"]);
const scenario = ["scenario_name", "feature_file", "feature_name", "contract_id"];
const module = [["module_path"], ["module_name"]];
const violation = acc(module, ["target_module", "rule_id"]);

export const TYPES: Record<string, TypeSpec> = {
  WORKFLOW_STARTED: dde([["workflow_id"]]),
  WORKFLOW_COMPLETED: dde([["workflow_id"]]),
  WORKFLOW_FAILED: dde([["workflow_id"]]),
  TASK_STARTED: task,
  TASK_COMPLETED: task,
  TASK_FAILED: task,
  TASK_RETRYING: task,
  ARTIFACT_CREATED: artifact,
  ARTIFACT_VALIDATED: artifact,
  CONTRACT_LOCKED: contract,
  CONTRACT_VALIDATED: contract,
  QUALITY_GATE_CHECKED: dde([["quality_gate"]], ["node_id", "gate_passed"]),
  TEST_RUN_STARTED: bdv([["test_run_id"]]),
  TEST_RUN_COMPLETED: bdv([["test_run_id"]]),
  FEATURE_STARTED: feature,
  FEATURE_COMPLETED: feature,
  SCENARIO_PASSED: bdv([["scenario_id"]], scenario),
  SCENARIO_FAILED: bdv([["scenario_id"]], scenario),
  SCENARIO_SKIPPED: bdv([["scenario_id"]], scenario),
  STEP_EXECUTED: bdv([["step_text"]], ["scenario_id", "scenario_name", "feature_file"]),
  CONTRACT_TAG_DETECTED: bdv([["scenario_id"]], scenario),
  FLAKE_DETECTED: bdv([["scenario_id"]], [...scenario, "flake_rate"]),
  ANALYSIS_STARTED: acc([["analysis_id"]]),
  ANALYSIS_COMPLETED: acc([["analysis_id"]]),
  GRAPH_BUILT: acc([["analysis_id"]], ["fan_in", "fan_out"]),
  MODULE_ANALYZED: acc(module, ["fan_in", "fan_out", "instability"]),
  VIOLATION_DETECTED: violation,
  LAYERING_VIOLATION: violation,
  COUPLING_ALERT: acc(module, ["target_module", "rule_id", "fan_in", "fan_out", "instability"]),
  CYCLE_DETECTED: acc([["cycle"]], ["rule_id"]),
};

export const TYPES_OF: Record<Stream, string[]> = {
  dde: Object.keys(TYPES).filter((t) => TYPES[t].stream === "dde"),
  bdv: Object.keys(TYPES).filter((t) => TYPES[t].stream === "bdv"),
  acc: Object.keys(TYPES).filter((t) => TYPES[t].stream === "acc"),
};

/** Every optional field an event of this type may carry (subject alternatives included). */
export function optionalFields(type: string): string[] {
  const t = TYPES[type];
  const subject = t.subject.flat().filter((f) => f !== STREAM_ID[t.stream]);
  return [...new Set([...COMMON_OPTIONAL, ...GENERIC[t.stream], ...subject, ...t.fields])];
}

/** Fields with a default instead of a null branch: absent or a value, never null. */
export const NEVER_NULL = new Set(["metadata", "attempt", "tags", "cycle"]);

const present = (v: unknown) =>
  v !== undefined && v !== null && !(typeof v === "string" && v.trim() === "") &&
  !(Array.isArray(v) && v.length === 0);

/** Whether an event names what it is about (see the module comment). */
export function namesItsSubject(event: Record<string, unknown>): boolean {
  const t = TYPES[String(event.event_type)];
  return !!t && t.subject.some((alt) => alt.every((f) => present(event[f])));
}
