/**
 * The schemas of the policy files, in one light module (zod only) so the JSON Schema generator can
 * import them: rule test files (`rules/tests/*.yaml`) and labelled pairs
 * (`rules/tests/labels.jsonl`). The spec's `quality:` section is the compiler's
 * (`src/compiler/_quality.ts`).
 * @module
 */
import { z } from "zod";
import { LABEL } from "../core/identifiers.ts";

// ---- rule test files ----

const probability = z.number().min(0).max(1);
const endpoint = z.string().regex(
  /^[A-Z][A-Za-z0-9]*:.+$/,
  "must be Label:key, e.g. Module:api.user_service (a multi-field key joined by |)",
);
const ruleIds = z.array(z.string().min(1)).min(1);
const pair = {
  left: endpoint.describe("One endpoint, Label:key"),
  right: endpoint.describe("The other endpoint, Label:key (order does not matter)"),
  iteration: z.string().min(1).optional().describe(
    "Iteration of both endpoints (default: the case's)",
  ),
};

const expectation = z.strictObject({
  ...pair,
  rules: ruleIds.optional().describe("Rules that must all contribute to the link"),
  confidence: z.union([
    probability.describe("Exact, to the decimals written, at least two (0.399 accepts 0.398667)"),
    z.strictObject({ min: probability.optional(), max: probability.optional() })
      .refine((c) => c.min !== undefined || c.max !== undefined, "give min, max or both"),
  ]).optional().describe("The link's confidence"),
}).describe("A link that must exist");

const forbidden = z.strictObject({
  ...pair,
  rules: ruleIds.optional().describe(
    "Only these rules must not contribute (without it: the pair must not be linked at all)",
  ),
}).describe("A pair that must not be linked");

const ARRIVALS = ["as_written", "reversed", "shuffled"] as const;
export type Arrival = typeof ARRIVALS[number];
const eventObject = z.record(z.string(), z.unknown());
const streamDefaults = z.record(z.string(), eventObject).describe(
  "Fields added to every inline event of a stream that lacks them, by stream name",
);

const testCase = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  iteration: z.string().min(1).default("it-test").describe(
    "iteration_id of inline events without one, and of the endpoints",
  ),
  start: z.union([z.number().int(), z.string().min(1)]).default("2025-01-01T00:00:00Z").describe(
    "Time of the first inline event without a timestamp; each next one is a second later",
  ),
  arrival: z.array(z.enum(ARRIVALS)).min(1).default(["as_written", "reversed"]).describe(
    "Orders the events are fed in; every one must pass",
  ),
  batch_size: z.number().int().min(1).default(1).describe(
    "Events per batch (default 1: every event is its own batch, as if it arrived alone)",
  ),
  allow_dead_letters: z.boolean().default(false).describe(
    "Pass even if events are dead-lettered (by default a dead letter fails the case)",
  ),
  exhaustive: z.boolean().default(false).describe("Fail on links the case does not expect"),
  defaults: streamDefaults.default({}),
  events: z.array(eventObject).min(1).describe(
    "Events (JSON objects as in samples/events.jsonl) or { file: x.jsonl }",
  ),
  expect: z.array(expectation).default([]),
  forbid: z.array(forbidden).default([]),
});

export const ruleTestFileSchema = z.strictObject({
  $schema: z.string().optional(),
  defaults: streamDefaults.default({}),
  cases: z.array(testCase).min(1).describe("Test cases"),
}).describe("ics correlation rule tests");

// ---- labelled pairs ----

const labelEndpoint = z.strictObject({
  label: z.string().regex(LABEL, "must be an entity label such as Module"),
  iteration_id: z.string().min(1),
  key: z.union([z.string().min(1), z.array(z.string()).min(1)]).describe(
    "Natural key: a string, or the list of a multi-field key",
  ),
});

export const labelSchema = z.strictObject({
  left: labelEndpoint,
  right: labelEndpoint,
  match: z.boolean().describe("Whether the two endpoints should be linked"),
  family: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional().describe(
    "What should link the pair: a rule id, a rule kind, or kind_mode (file_path_fuzzy); or a list",
  ),
  note: z.string().optional(),
}).describe("A labelled pair");
