/**
 * The `quality:` section of the spec: the gates `ics quality` checks a policy against. Part of the
 * pipeline schema, so the compiler owns it; `src/policy` reads it from here.
 * @module
 */
import { z } from "zod";

const probability = z.number().min(0).max(1);

const gates = {
  min_precision: probability.optional().describe("Fail below this precision"),
  min_recall: probability.optional().describe("Fail below this recall"),
  min_f1: probability.optional().describe("Fail below this F1"),
};

/** The `quality:` section of the spec (proposed; `ics quality` flags override it). */
export const qualitySchema = z.strictObject({
  labels: z.string().min(1).default("rules/tests/labels.jsonl").describe(
    "Labelled pairs (JSON Lines), relative to the spec",
  ),
  corpus: z.string().min(1).optional().describe(
    "Events to evaluate (JSON Lines); default: the file source of the default target",
  ),
  ...gates,
  max_calibration_error: probability.optional().describe(
    "Fail when the expected calibration error (ECE) is above this",
  ),
  rules: z.record(z.string(), z.strictObject(gates)).default({}).describe(
    "Gates per rule id",
  ),
  bands: z.array(probability).min(2).default([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])
    .describe("Confidence band edges, ascending"),
}).describe("Quality gates: ics quality fails when the policy scores below them.");

export type QualityConfig = z.infer<typeof qualitySchema>;

export type QualityGates = { min_precision?: number; min_recall?: number; min_f1?: number };
