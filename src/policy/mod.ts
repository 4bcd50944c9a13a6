/**
 * Correlation policy as code: evaluate a policy over events in memory, rule tests, plans of a
 * policy change, and quality against labelled pairs. Used by `ics test`, `ics plan` and
 * `ics quality`.
 * @module
 */
export {
  type Endpoint,
  evaluate,
  type EvaluateOptions,
  type Evaluation,
  type EventInput,
  type LinkRow,
  pairKey,
  readJsonl,
  refText,
} from "./evaluate.ts";
export { explainPair, type PairExplanation, whyNotLinked } from "./_explain.ts";
export {
  type CaseResult,
  type Failure,
  loadRuleTests,
  ruleTestFileSchema,
  type RuleTestReport,
  runRuleTests,
} from "./rule_tests.ts";
export { formatRuleTestReport, ruleTestReportJson } from "./_rule_test_report.ts";
export {
  type Change,
  type ChangeKind,
  comparePolicies,
  diffLinks,
  failsOn,
  plan,
  type PlanReport,
} from "./plan.ts";
export { planMarkdown } from "./_plan_render.ts";
export { type BaseSpec, openBase } from "./_base.ts";
export {
  type Label,
  labelSchema,
  loadLabels,
  measure,
  type QualityConfig,
  type QualityReport,
  qualitySchema,
} from "./quality.ts";
export { qualityMarkdown } from "./_quality_render.ts";
