import assert from "node:assert/strict";
import { join } from "node:path";
import * as test from "./test.ts";
import { capture } from "./_capture.ts";
import { ROOT } from "../policy/_testing.ts";

const spec = join(ROOT, "pipeline.yaml");

Deno.test("ics test runs the shipped rule tests and exits 0", async () => {
  const r = await capture(test, "--spec", spec);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /rules\/tests\/file_paths\.yaml\n {2}✓ /);
  assert.match(
    r.stdout,
    /\d+ passed, 0 failed \(\d+ cases, \d+ runs over arrival orders; policy [0-9a-f]{16}\)/,
  );
});

Deno.test("ics test exits 1 with a diff of the links when a case fails", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "failing.yaml");
  await Deno.writeTextFile(
    file,
    `cases:
  - name: wrong expectation
    defaults: { dde: { workflow_id: w }, acc: { analysis_id: a } }
    events:
      - { event_type: ARTIFACT_CREATED, artifact_path: src/api/user_service.py }
      - { event_type: MODULE_ANALYZED, module_name: api.user_service }
    expect:
      - { left: "Artifact:src/api/user_service.py", right: "Module:api.user_service", confidence: 0.9 }
`,
  );
  const r = await capture(test, "--spec", spec, file);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ wrong expectation \[as_written, reversed\]/);
  assert.match(r.stdout, /is linked at 0\.7, expected 0\.9/);
  assert.match(r.stdout, /0 passed, 1 failed/);
  const json = await capture(test, "--spec", spec, "--json", file);
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).runs[0].failures[0].type, "confidence");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ics test exits 1 with every positioned error of an invalid test file", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "bad.yaml"), "cases:\n  - nam: x\n    events: []\n");
  const r = await capture(test, "--spec", spec, dir);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /bad\.yaml:2:5 {2}cases\[0\]\.nam {2}unknown key "nam" \(did you mean "name"\?\)/,
  );
  assert.match(
    r.stderr,
    /bad\.yaml:3:13 {2}cases\[0\]\.events {2}must not be empty/,
  );
  assert.match(r.stderr, /errors in the rule tests\./);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("ics test --filter selects cases, and a filter matching none is bad usage", async () => {
  const one = await capture(test, "--spec", spec, "--filter", "never exceeds 0.5");
  assert.equal(one.code, 0);
  assert.match(one.stdout, /1 passed, 0 failed \(1 case,/);
  const none = await capture(test, "--spec", spec, "--filter", "no such case");
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no case matches --filter "no such case"/);
});
