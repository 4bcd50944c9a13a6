/**
 * The JSON Schemas editors use (`schemas/*.schema.json`), checked with a JSON Schema validator as
 * an editor checks the files: before `${VAR}` interpolation. The shipped files must pass, and a
 * reference must pass wherever the validator accepts the interpolated string, and nowhere else.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { parse } from "yaml";
import { schemas } from "./schema.ts";
import { loadSpec } from "../compiler/mod.ts";
import { copy } from "../../tests/_copy.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ajv = new Ajv2020({ allErrors: true, strict: false });

/** The schema file on disk, as editors read it. */
const editor = (name: string) =>
  ajv.compile(JSON.parse(Deno.readTextFileSync(join(ROOT, "schemas", name))));

/** The editor's complaints about a YAML file's text, as `/json/pointer message`. */
function complaints(validate: ReturnType<typeof editor>, text: string): string[] {
  validate(parse(text));
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const files = (folder: string) =>
  [...Deno.readDirSync(join(ROOT, folder))]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => join(folder, e.name));

Deno.test("the schema files on disk are the generated ones", () => {
  for (const [name, text] of Object.entries(schemas())) {
    assert.equal(
      Deno.readTextFileSync(join(ROOT, "schemas", name)),
      text,
      `${name}: run deno task schema`,
    );
  }
});

Deno.test("the editor schemas accept the shipped pipeline.yaml, rule files and rule tests", () => {
  const cases = [
    ["pipeline.schema.json", ["pipeline.yaml"]],
    ["rules.schema.json", files("rules")],
    ["rule_tests.schema.json", files("rules/tests")],
  ] as const;
  for (const [schema, paths] of cases) {
    const validate = editor(schema);
    assert.ok(paths.length > 0, schema);
    for (const path of paths) {
      assert.deepEqual(complaints(validate, Deno.readTextFileSync(join(ROOT, path))), [], path);
    }
  }
});

Deno.test("the editor schema takes ${VAR} where the validator takes the interpolated string, and only there", async () => {
  const shipped = Deno.readTextFileSync(join(ROOT, "pipeline.yaml"));
  const edit = (from: string, to: string) => {
    assert.ok(shipped.includes(from), from);
    return shipped.replace(from, to);
  };
  const pipeline = editor("pipeline.schema.json");
  const dir = await Deno.makeTempDir({ prefix: "ics-schema-" });
  try {
    await copy(ROOT, dir, ["rules", "schemas", "samples"]);
    const runtime = async (text: string, env: Record<string, string>) => {
      await Deno.writeTextFile(join(dir, "pipeline.yaml"), text);
      return (await loadSpec(join(dir, "pipeline.yaml"), (n) => env[n])).errors.map((e) =>
        `${e.path} ${e.message}`
      );
    };
    // An enum, a pattern: both accept a reference, and the validator checks what it gives.
    const combine = edit("combine: noisy_or", 'combine: "${COMBINE:-max}"');
    assert.deepEqual(complaints(pipeline, combine), []);
    assert.deepEqual(await runtime(combine, {}), []);
    assert.deepEqual(await runtime(combine, { COMBINE: "min" }), [
      'correlation.combine "min" is not one of "max", "noisy_or"',
    ]);
    // A number: interpolation gives a string, which the validator refuses, and so does the editor.
    const ratio = edit("sample_ratio: 1.0", 'sample_ratio: "${RATIO:-0.5}"');
    assert.deepEqual(complaints(pipeline, ratio), [
      "/observability/tracing/sample_ratio must be number",
    ]);
    assert.deepEqual(await runtime(ratio, {}), [
      'observability.tracing.sample_ratio expected a number, got "0.5"',
    ]);
    // Without a reference, a constrained string is still checked.
    const url = edit('url: "${REDIS_URL:-redis://127.0.0.1:6379}"', "url: http://cache:6379");
    assert.ok(
      complaints(pipeline, url).includes(
        '/targets/services/dedup/url must match pattern "^rediss?:\\/\\/"',
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
