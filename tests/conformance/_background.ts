/**
 * Background events (every event type, subjects from the background pools, each subject
 * alternative alone or together) and bursts: several distinct events in one millisecond, which an
 * idempotency key that ignores what they are about would take for duplicates.
 * @module
 */
import type { BackgroundModel, BurstModel, EventBits } from "./_model.ts";
import { SPAN_MS } from "./_model.ts";
import { TYPES } from "./_contract.ts";
import { emit, type IterationContext, noisy, pick } from "./_event.ts";
import {
  BG_ARTIFACT_STEMS,
  BG_CONTRACT_IDS,
  BG_FEATURE_STEMS,
  BG_MODULE_STEMS,
  BG_STEPS,
  BG_TASKS,
  PACKAGES,
  RULE_IDS,
} from "./_words.ts";

const ALL_TYPES = Object.keys(TYPES);
const none = (e: EventBits) => e.echo === 1 ? null : undefined;

const bgArtifact = (k: number) => ({
  path: `src/${pick(PACKAGES, k)}/${pick(BG_ARTIFACT_STEMS, k)}.py`,
});
const bgModule = (k: number) => {
  const pkg = pick(PACKAGES, k + 1);
  const stem = pick(BG_MODULE_STEMS, k);
  return { path: `src/${pkg}/${stem}.py`, name: `${pkg}.${stem}` };
};
const bgFeature = (k: number) => `features/${pick(BG_FEATURE_STEMS, k)}.feature`;

/** Either alternative alone (the other absent or null), or both: `alt` 0, 1, 2. */
function alternatives(alt: number, e: EventBits, a: [string, unknown], b: [string, unknown]) {
  return {
    [a[0]]: alt === 1 ? none(e) : a[1],
    [b[0]]: alt === 0 ? none(e) : b[1],
  };
}

/** The subject fields of a background event of `type`. */
function subject(ctx: IterationContext, type: string, k: number, alt: number, e: EventBits) {
  const ids = ctx.model.ids;
  switch (type) {
    case "WORKFLOW_STARTED":
    case "WORKFLOW_COMPLETED":
    case "WORKFLOW_FAILED":
      return { node_id: undefined };
    case "ARTIFACT_CREATED":
    case "ARTIFACT_VALIDATED":
      return alternatives(alt, e, ["artifact_path", noisy(bgArtifact(k).path, e.path)], [
        "artifact_id",
        pick(ids.artifact, k),
      ]);
    case "CONTRACT_LOCKED":
    case "CONTRACT_VALIDATED":
      return { contract_id: pick(BG_CONTRACT_IDS, k) };
    case "QUALITY_GATE_CHECKED":
      return { quality_gate: pick(ids.gate, k) };
    case "FEATURE_STARTED":
    case "FEATURE_COMPLETED":
      return { feature_file: noisy(bgFeature(k), e.path) };
    case "STEP_EXECUTED":
      return { step_text: pick(BG_STEPS, k) };
    case "CYCLE_DETECTED":
      return { cycle: [0, 1, 2].slice(0, 2 + (alt % 2)).map((i) => bgModule(k + i).name) };
    case "MODULE_ANALYZED":
    case "VIOLATION_DETECTED":
    case "LAYERING_VIOLATION":
    case "COUPLING_ALERT": {
      const m = bgModule(k);
      return alternatives(alt, e, ["module_path", noisy(m.path, e.path)], ["module_name", m.name]);
    }
  }
  if (type.startsWith("TASK_")) return { node_id: pick(BG_TASKS, k) };
  if (TYPES[type].subject[0][0] === "scenario_id") return { scenario_id: pick(ids.scenario, k) };
  return {}; // TEST_RUN_*, ANALYSIS_*, GRAPH_BUILT: named by their required id
}

export function background(ctx: IterationContext, b: BackgroundModel): void {
  const type = pick(ALL_TYPES, b.type);
  emit(ctx, type, b.at * SPAN_MS, b.event, subject(ctx, type, b.subject, b.alt, b.event));
}

/** Distinct events in one millisecond; returns how many share EVENTS.md's key with another. */
export function burst(ctx: IterationContext, b: BurstModel): number {
  const at = b.at * SPAN_MS;
  const k = b.subject;
  const ids = ctx.model.ids;
  const each = (type: string, fields: (i: number, e: EventBits) => Record<string, unknown>) =>
    b.events.forEach((e, i) => emit(ctx, type, at, e, fields(i, e)));
  switch (b.kind) {
    case "features":
      each("FEATURE_STARTED", (i, e) => ({ feature_file: noisy(bgFeature(k + i), e.path) }));
      break;
    case "contracts_by_task":
      each("CONTRACT_LOCKED", (i) => ({
        node_id: pick(BG_TASKS, k),
        contract_id: `${pick(BG_CONTRACT_IDS, k)}.${i}`,
      }));
      break;
    case "artifacts_by_task":
      each("ARTIFACT_CREATED", (i, e) => ({
        node_id: pick(BG_TASKS, k),
        artifact_path: noisy(bgArtifact(k + i).path, e.path),
        artifact_id: none(e),
      }));
      break;
    case "artifacts_by_id":
      each("ARTIFACT_CREATED", (i, e) => ({
        artifact_path: none(e),
        artifact_id: `${pick(ids.artifact, k)}.${i}`,
      }));
      break;
    case "modules_by_name":
      each(
        "MODULE_ANALYZED",
        (i, e) => ({ module_path: none(e), module_name: bgModule(k + i).name }),
      );
      break;
    case "modules_by_path":
      each("MODULE_ANALYZED", (i, e) => ({
        module_path: noisy(bgModule(k + i).path, e.path),
        module_name: none(e),
      }));
      break;
    case "scenarios":
      each("SCENARIO_PASSED", (i) => ({ scenario_id: `${pick(ids.scenario, k)}.${i}` }));
      break;
    case "violations":
      each("VIOLATION_DETECTED", (i, e) => ({
        module_path: none(e),
        module_name: bgModule(k).name,
        rule_id: pick(RULE_IDS, i),
      }));
      break;
    case "tasks":
      each("TASK_STARTED", (i) => ({ node_id: pick(BG_TASKS, k + i) }));
      break;
    case "steps":
      each("STEP_EXECUTED", (i) => ({ step_text: pick(BG_STEPS, k + i) }));
      break;
    case "gates":
      each("QUALITY_GATE_CHECKED", (i) => ({ quality_gate: `${pick(ids.gate, k)}.${i}` }));
      break;
    case "retry_same_ms":
      each("TASK_RETRYING", (i) => ({ node_id: pick(BG_TASKS, k), attempt: i + 1 }));
      return b.events.length - 1;
    case "coupling_same_ms":
      each("COUPLING_ALERT", (i, e) => ({
        module_path: none(e),
        module_name: bgModule(k).name,
        rule_id: undefined,
        target_module: `${pick(PACKAGES, i)}.${pick(BG_MODULE_STEMS, k + 1)}`,
      }));
      return b.events.length - 1;
  }
  return 0;
}
