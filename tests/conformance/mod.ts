/**
 * The conformance suite (issue #10, "Every contract-valid event counts"): a generator of corpora
 * valid under EVENTS.md, independent of ics's own samples and benchmark corpus, with planted
 * correlation pairs and near misses as ground truth, and the properties every run must keep.
 *
 * - `tests/conformance_test.ts`: a fixed seed and a bounded run, in `deno task test`.
 * - `deno task conformance --runs N --seed S`: long runs, the measurement table, shrunk
 *   counterexamples as JSON Lines files.
 * - `tests/integration/conformance_test.ts`: the same corpus through the services target gives the
 *   embedded target's `ics checksum`.
 * @module
 */
export { type CorpusModel, type Sizes, SMALL } from "./_model.ts";
export { corpusModel } from "./_arbitrary.ts";
export { type Corpus, jsonl, render, type RenderOptions } from "./_render.ts";
export { type Observation, observe } from "./_observe.ts";
export { assess, type Assessment, PROPERTIES, type Property, type Tally } from "./_properties.ts";
export { FAMILIES, type Family, type Pair, type Ref } from "./_plants.ts";
export {
  type CheckOptions,
  checkProperty,
  createRunner,
  type Failure,
  formatFailure,
  type Runner,
} from "./_check.ts";
export { addTally, emptyTally, formatTally } from "./_report.ts";
export { namesItsSubject, TYPES } from "./_contract.ts";
export { DISJOINT, tokens } from "./_words.ts";
