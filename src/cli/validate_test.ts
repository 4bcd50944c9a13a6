/**
 * `ics validate` and the CLI's usage errors, run as a user runs them: a `deno run` subprocess.
 * Invalid specs exit 1 with every positioned error on stderr, bad usage exits 2 with one line, and
 * no user error ever shows a stack trace.
 */
import assert from "node:assert/strict";
import { copy } from "../../tests/_copy.ts";

const ROOT = new URL("../..", import.meta.url);

async function ics(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", "src/cli/main.ts", ...args],
    cwd: ROOT,
    // The fixtures share the repository's Avro schemas, outside their own folders.
    env: { NO_COLOR: "1", ICS_ALLOW_OUTSIDE: ROOT.pathname },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}

function assertNoStackTrace(output: string) {
  assert.doesNotMatch(output, /^ {4}at /m, output);
  assert.doesNotMatch(output, /error: Uncaught/, output);
}

const MANY = "testdata/specs/many";

Deno.test("ics validate exits 1 and prints every positioned error of an invalid spec", async () => {
  const { code, stdout, stderr } = await ics("validate", `${MANY}/pipeline.yaml`);
  assert.equal(code, 1);
  assert.equal(stdout, "");
  const expected = [
    `${MANY}/pipeline.yaml:8:25  dedup.key.bdv[1]  "scenario" is not a field of stream bdv's Avro schema`,
    `${MANY}/pipeline.yaml:12:40  entities.Task.when.event_type[1]  "TASK_FAILD" is not an event type of stream dde (did you mean "TASK_FAILED"?)`,
    `${MANY}/pipeline.yaml:14:40  entities.Task.properties[2]  "metadata.owner" needs a property name: write { name: ..., field: metadata.owner }`,
    `${MANY}/pipeline.yaml:18:11  entities.Scenario.key[0]  "scenario_key" is not a field of stream bdv's Avro schema (did you mean "scenario_id"?)`,
    `${MANY}/pipeline.yaml:25:19  relationships[0].to.entity  "Tsak" is not an entity defined in entities (did you mean "Task"?)`,
    `${MANY}/pipeline.yaml:28:17  default_target  target "production" is not defined in targets`,
    `${MANY}/rules/a.yaml:6:22  rules[0].right.entity  "Taks" is not an entity defined in entities (did you mean "Task"?)`,
    `${MANY}/rules/a.yaml:10:38  rules[1].left.field  "workflow" is not a property of Scenario; its properties: scenario_key, scenario_name, tags, dde_node_id`,
    `${MANY}/rules/b.yaml:2:9  rules[0].id  duplicate rule id "scenario-task" (first defined at ${MANY}/rules/a.yaml:2)`,
    `${MANY}/rules/b.yaml:11:34  rules[1].left.field  "attempt" is int; a file_path rule needs string`,
  ];
  const lines = stderr.split("\n");
  for (const line of expected) assert.ok(lines.includes(line), `missing: ${line}\n${stderr}`);
  assert.match(stderr, /\n10 errors in the spec\.\n$/);
  assertNoStackTrace(stderr);
});

Deno.test("ics validate exits 1 on a YAML syntax error, with its position and no stack trace", async () => {
  const { code, stdout, stderr } = await ics(
    "validate",
    "testdata/specs/yaml_syntax/pipeline.yaml",
  );
  assert.equal(code, 1);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "testdata/specs/yaml_syntax/pipeline.yaml:9:11  (root)  " +
      "Nested mappings are not allowed in compact mappings\n\n1 error in the spec.\n",
  );
});

Deno.test("ics validate exits 1 on an unset environment variable, without a stack trace", async () => {
  const { code, stderr } = await ics("validate", "testdata/specs/env/pipeline.yaml");
  assert.equal(code, 1);
  assert.ok(
    stderr.startsWith(
      "testdata/specs/env/pipeline.yaml:5:12  streams.dde.topic  " +
        'environment variable "ICS_DDE_TOPIC" is not set (use ${ICS_DDE_TOPIC:-default} for a default)\n',
    ),
    stderr,
  );
  assertNoStackTrace(stderr);
});

Deno.test("ics validate exits 1 when the spec file does not exist, without a stack trace", async () => {
  const { code, stderr } = await ics("validate", "testdata/specs/no_such_case/pipeline.yaml");
  assert.equal(code, 1);
  assert.equal(
    stderr,
    "testdata/specs/no_such_case/pipeline.yaml:1:1  (root)  file cannot be read\n\n" +
      "1 error in the spec.\n",
  );
});

Deno.test("ics validate exits 0 and prints a valid line for the shipped pipeline.yaml", async () => {
  for (const args of [["validate"], ["validate", "pipeline.yaml"]]) {
    const { code, stdout, stderr } = await ics(...args);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
    assert.match(
      stdout,
      /^\S*pipeline\.yaml: valid \(3 streams, \d+ entities, \d+ relationships, \d+ rules, policy [0-9a-f]{16}\)\n$/,
    );
    assert.ok(Number(/(\d+) rules/.exec(stdout)![1]) >= 8, stdout);
  }
});

Deno.test("ics exits 2 with a one-line message for an unknown command", async () => {
  const { code, stdout, stderr } = await ics("valdiate");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    'ics: unknown command "valdiate"; commands: run, validate, links, explain, query, serve, recorrelate, test, plan, quality, checksum, replay, dlq, produce, topics, schemas, schema\n',
  );
});

Deno.test("ics explain exits 2 with a one-line message when given one entity", async () => {
  const { code, stdout, stderr } = await ics("explain", "Task:it-0001:build");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(stderr, "ics explain: explain takes two entities: ics explain A B (see --help)\n");
});

Deno.test("ics validate exits 2 with a one-line message for an unknown flag", async () => {
  const { code, stderr } = await ics("validate", "--bogus");
  assert.equal(code, 2);
  assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
  assert.match(stderr, /^ics validate: .*--bogus.*\(see ics validate --help\)\n$/);
});

Deno.test("ics --help and ics <command> --help exit 0 and print the usage", async () => {
  const top = await ics("--help");
  assert.equal(top.code, 0);
  assert.match(top.stdout, /^ics: /);
  for (const command of ["run", "validate", "links", "explain", "query", "schema"]) {
    const { code, stdout, stderr } = await ics(command, "--help");
    assert.equal(code, 0, `${command}: ${stderr}`);
    assert.ok(stdout.startsWith(`Usage: ics ${command}`), `${command}: ${stdout}`);
    assert.equal(stderr, "");
  }
});

Deno.test("ics validate refuses rule files outside the spec's folder and prints nothing of them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-validate-" });
  try {
    await copy(ROOT.pathname, dir, ["pipeline.yaml", "rules", "schemas"]);
    const spec = `${dir}/pipeline.yaml`;
    const text = await Deno.readTextFile(spec);
    await Deno.writeTextFile(spec, text.replace("rules: [rules/*.yaml]", "rules: [/etc/*]"));
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "src/cli/main.ts", "validate", spec],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
    }).output().then((o) => ({ ...o, stdout: dec(o.stdout), stderr: dec(o.stderr) }));
    assert.equal(code, 1);
    assert.equal(stdout, "");
    assert.match(
      stderr,
      /^\S+pipeline\.yaml:\d+:\d+ {2}correlation\.rules\[0\] {2}"\/etc" is outside the spec's folder; only ICS_ALLOW_OUTSIDE can allow another folder\n\n1 error in the spec\.\n$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const dec = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
