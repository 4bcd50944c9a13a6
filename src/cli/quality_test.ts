import assert from "node:assert/strict";
import { join } from "node:path";
import * as quality from "./quality.ts";
import { capture } from "./_capture.ts";
import { ROOT } from "../policy/_testing.ts";

const spec = join(ROOT, "pipeline.yaml");

Deno.test("ics quality scores the shipped policy on the shipped labels and passes", async () => {
  const r = await capture(
    quality,
    "--spec",
    spec,
    "--min-precision",
    "0.95",
    "--min-recall",
    "0.95",
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /\| \*\*overall\*\* \| 1\.000 \| 1\.000 \| 1\.000 \| 65 \| 0 \| 0 \| 25 \|/,
  );
  assert.match(r.stdout, /### Calibration by confidence band/);
  assert.match(r.stdout, /- ✓ precision ≥ 0\.95 \(1\.000\)/);
  assert.match(r.stdout, /\*\*Quality gates passed\.\*\*/);
});

Deno.test("ics quality exits 1 when a gate fails, and prints JSON on request", async () => {
  const r = await capture(
    quality,
    "--spec",
    spec,
    "--format",
    "json",
    "--max-calibration-error",
    "0.1",
  );
  assert.equal(r.code, 1);
  const report = JSON.parse(r.stdout);
  assert.equal(report.passed, false);
  // The spec's own gates (precision, recall) pass; the one added on the command line fails.
  assert.deepEqual(
    report.gates.map((g: { gate: string; passed: boolean }) => [g.gate, g.passed]),
    [["precision ≥ 0.95", true], ["recall ≥ 0.95", true], ["calibration error ≤ 0.1", false]],
  );
  assert.equal(report.labels, "rules/tests/labels.jsonl");
});

Deno.test("ics quality rejects a gate outside 0..1 and unreadable labels", async () => {
  const bad = await capture(quality, "--spec", spec, "--min-f1", "1.5");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--min-f1 "1\.5" is not a number from 0 to 1/);
  const missing = await capture(quality, "--spec", spec, "--labels", "/nonexistent.jsonl");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nonexistent\.jsonl:1:1 {2}\(root\) {2}file cannot be read/);
});
