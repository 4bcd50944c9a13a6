import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import { loadRuleTests, runRuleTests, withinConfidence } from "./rule_tests.ts";
import { formatRuleTestReport } from "./_rule_test_report.ts";
import { copySpec, replaceOnce, ROOT } from "./_testing.ts";

const { spec } = await loadSpec(join(ROOT, "pipeline.yaml"));

async function testFile(text: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ics-rule-tests-" });
  const file = join(dir, "case.yaml");
  await Deno.writeTextFile(file, text);
  return file;
}

const HEADER = `defaults:
  dde: { workflow_id: wf-1 }
  bdv: { test_run_id: tr-1 }
  acc: { analysis_id: an-1 }
cases:
`;

Deno.test("loadRuleTests() reports schema errors with file, line, column and a hint", async () => {
  const file = await testFile(`cases:
  - name: typo
    arival: [reversed]
    events: [{ event_type: ARTIFACT_CREATED }]
    expect: [{ left: "Artifact:a", right: "Module" }]
`);
  const { errors } = await loadRuleTests(file, spec!);
  assert.deepEqual(errors.map((e) => [e.line, e.column, e.path, e.message]), [
    [3, 5, "cases[0].arival", 'unknown key "arival" (did you mean "arrival"?)'],
    [
      5,
      43,
      "cases[0].expect[0].right",
      "must be Label:key, e.g. Module:api.user_service (a multi-field key joined by |)",
    ],
  ]);
});

Deno.test("loadRuleTests() checks labels, rule ids, event types, streams and files against the spec", async () => {
  const file = await testFile(`defaults:
  ddd: { workflow_id: wf-1 }
cases:
  - name: wrong names
    events:
      - { event_type: ARTIFACT_CREATD }
      - { file: missing.jsonl }
      - { event_type: MODULE_ANALYZED, timestamp: yesterday }
    expect:
      - { left: "Artefact:src/a.py", right: "Module:a", rules: [artifact-module-nam] }
`);
  const { errors, cases } = await loadRuleTests(file, spec!);
  assert.equal(cases.length, 0);
  assert.deepEqual(errors.map((e) => `${e.line}:${e.column} ${e.path}: ${e.message}`), [
    `2:3 defaults.ddd: "ddd" is not a stream of the spec (did you mean "dde"?)`,
    `6:23 cases[0].events[0].event_type: "ARTIFACT_CREATD" is not an event type of any stream (did you mean "ARTIFACT_CREATED"?)`,
    `7:17 cases[0].events[1].file: file "missing.jsonl" cannot be read (paths are relative to ${
      file.replace(Deno.cwd() + "/", "")
    })`,
    `8:51 cases[0].events[2].timestamp: "yesterday" is not an ISO 8601 time or epoch ms`,
    `10:17 cases[0].expect[0].left: "Artefact" is not an entity defined in entities (did you mean "Artifact"?)`,
    `10:65 cases[0].expect[0].rules[0]: "artifact-module-nam" is not a rule of the policy (did you mean "artifact-module-name"?)`,
  ]);
});

Deno.test("inline events get ids, the case's iteration, a producer and timestamps a second apart", async () => {
  const file = await testFile(
    HEADER + `  - name: filled
    iteration: it-9
    start: "2025-02-01T00:00:00Z"
    events:
      - { event_type: TASK_STARTED, node_id: a }
      - { event_type: TASK_STARTED, node_id: b, timestamp: "2025-02-01T01:00:00Z", producer: me }
    forbid: [{ left: "Task:a", right: "Task:b" }]
`,
  );
  const { cases, errors } = await loadRuleTests(file, spec!);
  assert.deepEqual(errors, []);
  const t0 = Date.UTC(2025, 1, 1);
  assert.deepEqual(cases[0].events, [
    {
      event_id: "e1",
      iteration_id: "it-9",
      timestamp: t0,
      producer: "ics-test",
      workflow_id: "wf-1",
      event_type: "TASK_STARTED",
      node_id: "a",
    },
    {
      event_id: "e2",
      iteration_id: "it-9",
      timestamp: t0 + 3_600_000,
      producer: "me",
      workflow_id: "wf-1",
      event_type: "TASK_STARTED",
      node_id: "b",
    },
  ]);
  assert.deepEqual(cases[0].arrival, ["as_written", "reversed"]);
  assert.equal(cases[0].forbid[0].left.iteration_id, "it-9");
});

Deno.test("a failing case reports missing, forbidden, confidence, rule and dead-letter failures", async () => {
  const file = await testFile(
    HEADER + `  - name: several failures
    events:
      - { event_type: ARTIFACT_CREATED, node_id: b, artifact_path: src/api/user_service.py }
      - { event_type: MODULE_ANALYZED, module_name: api.user_services }
      - { event_type: MODULE_ANALYZED, module_name: api.user_service }
      - { event_type: FEATURE_STARTED, test_run_id: null, feature_file: features/x.feature }
    expect:
      - { left: "Artifact:src/api/user_service.py", right: "Module:api.user_services" }
      - left: "Artifact:src/api/user_service.py"
        right: "Module:api.user_service"
        rules: [artifact-module-path]
        confidence: { min: 0.9 }
      - { left: "Artifact:src/api/user_servce.py", right: "Module:api.user_service" }
    forbid:
      - { left: "Artifact:src/api/user_service.py", right: "Module:api.user_service" }
`,
  );
  const report = await runRuleTests(spec!, [file]);
  assert.equal(report.failed, 2); // both arrival orders
  const [run] = report.results;
  assert.deepEqual(run.failures.map((f) => f.type), [
    "dead_letter",
    "missing",
    "rules",
    "confidence",
    "missing",
    "forbidden",
  ]);
  const text = formatRuleTestReport(report);
  assert.match(text, /✗ several failures \[as_written, reversed\]/);
  assert.match(
    text,
    /dead letter {2}.*case\.yaml:\d+ \(events\[3\]\): schema_violation: .*test_run_id/,
  );
  assert.match(
    text,
    /missing {6}Artifact:src\/api\/user_service\.py ~ Module:api\.user_services/,
  );
  assert.match(
    text,
    /closest rule artifact-module-name \(file_path\): near miss, score 0\.35: similarity 0\.50 is below the threshold 0\.85/,
  );
  assert.match(text, /but not by artifact-module-path/);
  assert.match(text, /artifact-module-path: not applicable: a compared property is missing/);
  assert.match(text, /is linked at 0\.7, expected at least 0\.9/);
  assert.match(text, /did you mean Artifact:src\/api\/user_service\.py\?/);
  assert.match(
    text,
    /forbidden {4}Artifact:src\/api\/user_service\.py ~ Module:api\.user_service is linked at 0\.7/,
  );
  assert.match(
    text,
    /\+ Artifact:src\/api\/user_service\.py ~ Module:api\.user_service {2}0\.7 {2}artifact-module-name 0\.7/,
  );
  assert.match(text, /0 passed, 1 failed/);
});

Deno.test("an exhaustive case fails on links it does not expect", async () => {
  const file = await testFile(
    HEADER + `  - name: exhaustive
    arrival: [shuffled]
    exhaustive: true
    events:
      - { event_type: ARTIFACT_CREATED, node_id: b, artifact_path: src/api/user_service.py }
      - { event_type: MODULE_ANALYZED, module_name: api.user_service }
      - { event_type: FEATURE_STARTED, feature_file: features/user_service.feature }
    expect:
      - { left: "Module:api.user_service", right: "Artifact:src/api/user_service.py" }
`,
  );
  const report = await runRuleTests(spec!, [file]);
  assert.deepEqual(report.results[0].failures.map((f) => f.type), ["unexpected"]);
  assert.match(
    formatRuleTestReport(report),
    /unexpected {3}Feature:features\/user_service\.feature ~ Artifact:src\/api\/user_service\.py/,
  );
});

Deno.test("exact confidences match to the decimals written", () => {
  assert.ok(withinConfidence(0.398667, 0.399));
  assert.ok(!withinConfidence(0.398667, 0.398));
  assert.ok(withinConfidence(0.97, 0.97));
  assert.ok(withinConfidence(1, 1));
  assert.ok(!withinConfidence(0.97, 1)); // at least two decimals: 1 means 1.00
  assert.ok(withinConfidence(0.380488, 0.38) && !withinConfidence(0.38, 0.4));
  assert.ok(withinConfidence(0.5, { min: 0.5 }) && !withinConfidence(0.5, { max: 0.49 }));
});

Deno.test("the shipped file path tests catch a policy that links a near miss", async () => {
  const loose = await copySpec((file, text) =>
    file === "file_paths.yaml"
      ? replaceOnce(text, "threshold: 0.85 # user_service", "threshold: 0.5 # user_service")
      : text
  );
  try {
    const report = await runRuleTests(loose.spec, [join(ROOT, "rules/tests/file_paths.yaml")]);
    const failed = new Set(report.results.filter((r) => !r.passed).map((r) => r.name));
    assert.deepEqual([...failed], [
      "near misses of the dotted name are not linked (plural, other package)",
    ]);
    assert.match(
      formatRuleTestReport(report),
      /forbidden {4}Artifact:src\/api\/user_service\.py ~ Module:api\.user_services is linked at 0\.35/,
    );
  } finally {
    await loose.remove();
  }
});
