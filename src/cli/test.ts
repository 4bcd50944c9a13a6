/** `ics test [FILES]`: run the correlation rule tests (`rules/tests/*.yaml`). */
import { join, resolve } from "node:path";
import { JSON_OUTPUT, load, SPEC } from "./_common.ts";
import { command } from "./_command.ts";
import { boolean, string } from "./_flags.ts";
import { UserError } from "../core/errors.ts";
import { formatRuleTestReport, ruleTestReportJson, runRuleTests } from "../policy/mod.ts";

export const cli = command({
  name: "test",
  summary: "run the correlation rule tests (rules/tests/*.yaml)",
  args: "[FILES or FOLDERS]",
  about:
    `Run correlation rule tests: each case feeds its events through the pipeline in memory, once per
arrival order, and checks the links it expects, the pairs it forbids and their confidence. A
failure prints the actual links with their rules and scores, and for a missing link the reason
the closest rule gives (as "ics explain" would). Default: rules/tests/*.yaml next to the spec.`,
  flags: {
    filter: string("TEXT", "only cases whose name contains TEXT"),
    verbose: boolean("list the links of passing cases too"),
    ...JSON_OUTPUT,
    ...SPEC,
  },
  more: `Test file format (YAML):
  defaults: { dde: { workflow_id: wf-1 }, bdv: { test_run_id: tr-1 }, acc: { analysis_id: an-1 } }
  cases:
    - name: exact path links artifact and module
      events:                      # objects as in samples/events.jsonl, or { file: x.jsonl }
        - { event_type: ARTIFACT_CREATED, node_id: build_a, artifact_path: src/a/b.py }
        - { event_type: MODULE_ANALYZED, module_name: a.b, module_path: ./src/a/b.py }
      expect:
        - { left: "Artifact:src/a/b.py", right: "Module:a.b", rules: [artifact-module-path],
            confidence: { min: 0.9 } }
      forbid:
        - { left: "Artifact:src/a/b.py", right: "Module:a.bs" }
  Inline events get event_id, iteration_id (the case's "iteration", default it-test), producer
  and a timestamp (one second apart from "start") when they lack them; "timestamp" may be ISO 8601.
  Other case keys: arrival ([as_written, reversed] by default; also shuffled), batch_size
  (default 1), exhaustive (fail on links not expected), allow_dead_letters.`,
  exits: "0 all passed, 1 a case failed or a test file is invalid, 2 bad usage.",
});

export async function main(args: string[]): Promise<number> {
  const { values, positionals } = cli.parse(args);
  const spec = await load(values.spec);
  const targets = positionals.length ? positionals : [join(spec.dir, "rules", "tests")];
  const files: string[] = [];
  for (const t of targets) files.push(...await testFiles(t));
  if (files.length === 0) throw new UserError(`no rule test files in ${targets.join(", ")}`);
  const filter = values.filter;
  const report = await runRuleTests(spec, files, filter ? (n) => n.includes(filter) : undefined);
  if (report.errors.length === 0 && report.results.length === 0) {
    throw new UserError(`no case matches --filter "${filter}"`);
  }
  const failed = report.errors.length > 0 || report.failed > 0;
  if (values.json) console.log(JSON.stringify(ruleTestReportJson(report), null, 2));
  else {(report.errors.length ? console.error : console.log)(
      formatRuleTestReport(report, values.verbose),
    );}
  return failed ? 1 : 0;
}

/** A file as given; a folder's *.yaml and *.yml files, sorted. */
async function testFiles(path: string): Promise<string[]> {
  const stat = await Deno.stat(path).catch(() => undefined);
  if (!stat) throw new UserError(`"${path}" does not exist`);
  if (stat.isFile) return [resolve(path)];
  const out: string[] = [];
  for await (const e of Deno.readDir(path)) {
    if (e.isFile && /\.ya?ml$/.test(e.name)) out.push(resolve(path, e.name));
  }
  return out.sort();
}
