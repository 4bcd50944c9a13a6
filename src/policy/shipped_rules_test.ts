/**
 * The shipped rule tests (`rules/tests/*.yaml`) as part of `deno task test`: every case passes
 * against the shipped policy, and every shipped rule is tested positively (an expectation naming
 * it) and negatively (a forbidden pair of its two entity labels).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import { loadRuleTests, runRuleTests } from "./rule_tests.ts";
import { formatRuleTestReport } from "./_rule_test_report.ts";
import { ROOT } from "./_testing.ts";

const { spec } = await loadSpec(join(ROOT, "pipeline.yaml"));
const dir = join(ROOT, "rules/tests");
const files: string[] = [];
for await (const e of Deno.readDir(dir)) {
  if (e.name.endsWith(".yaml")) files.push(join(dir, e.name));
}
files.sort();

Deno.test("every shipped rule test passes against the shipped policy", async () => {
  assert.ok(files.length >= 4, "rules/tests/*.yaml");
  const report = await runRuleTests(spec!, files);
  assert.deepEqual(report.errors, []);
  assert.equal(report.failed, 0, formatRuleTestReport(report));
  assert.ok(report.passed > 0);
});

Deno.test("every shipped rule has a positive and a negative rule test", async () => {
  const cases = (await Promise.all(files.map((f) => loadRuleTests(f, spec!)))).flatMap((x) =>
    x.cases
  );
  for (const rule of spec!.rules) {
    const positive = cases.some((c) => c.expect.some((x) => x.rules?.includes(rule.id)));
    assert.ok(positive, `no rule test expects a link by ${rule.id}`);
    const labels = [rule.left, rule.right].sort().join();
    const negative = cases.some((c) =>
      c.forbid.some((f) => [f.left.label, f.right.label].sort().join() === labels)
    );
    assert.ok(negative, `no rule test forbids a ${rule.left} ~ ${rule.right} pair (${rule.id})`);
  }
});
