import assert from "node:assert/strict";
import { z } from "zod";
import { formatErrors, validate, yamlPath } from "./_validate.ts";
import { loadYaml, type SpecError } from "./_parse.ts";

const File = z.strictObject({
  type: z.literal("file"),
  path: z.string(),
  poll_seconds: z.number().positive().optional(),
});
const Kafka = z.strictObject({
  type: z.literal("kafka"),
  brokers: z.array(z.string()).min(1),
  topic: z.string(),
});
const Source = z.discriminatedUnion("type", [File, Kafka]);
const Rule = z.strictObject({
  id: z.string().regex(/^[a-z_]+$/),
  keys: z.array(z.array(z.string()).min(1)).optional(),
});
const Pipeline = z.strictObject({
  name: z.string().min(2).max(10),
  version: z.literal(1),
  mode: z.enum(["batch", "stream"]).default("stream"),
  owner: z.email().optional(),
  batch_size: z.number().int().positive().multipleOf(10).optional(),
  window_seconds: z.number().refine((n) => n % 60 === 0, "window_seconds must be whole minutes")
    .optional(),
  source: Source,
  targets: z.record(z.string().regex(/^[a-z]+$/), Source).optional(),
  rules: z.array(Rule).max(2).optional(),
  window: z.union([z.number(), z.string()]).optional(),
  retry: z.union([
    z.strictObject({ kind: z.literal("fixed"), delay_seconds: z.number() }),
    z.strictObject({ kind: z.literal("none") }),
  ]).optional(),
});

const HEAD = "name: demo\nversion: 1\n";
const SOURCE = "source: {type: file, path: in.jsonl}\n";

/** Validates `text` and renders each error as `line:column path | message`. */
function check(schema: z.ZodType, text: string, env: Record<string, string> = {}): string[] {
  const { errors } = validate(schema, loadYaml("p.yaml", text, (n) => env[n]));
  return errors.map((e) => `${e.line}:${e.column} ${e.path} | ${e.message}`);
}

Deno.test("validate() returns the parsed value, defaults included, when the file is valid", () => {
  const loaded = loadYaml("p.yaml", HEAD + SOURCE, () => undefined);
  const { value, errors } = validate(Pipeline, loaded);
  assert.deepEqual(errors, []);
  assert.equal(value?.mode, "stream");
  assert.deepEqual(value?.source, { type: "file", path: "in.jsonl" });
});

Deno.test("validate() reports an unknown key with its position and a did-you-mean hint", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "rulez: []\n"), [
    '4:1 rulez | unknown key "rulez" (did you mean "rules"?)',
  ]);
});

Deno.test("validate() reports each unknown key separately and omits a hint when none is close", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "colour: red\nzzz: 1\n"), [
    '4:1 colour | unknown key "colour"',
    '5:1 zzz | unknown key "zzz"',
  ]);
});

Deno.test("validate() reports a wrong type with the value quoted", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "batch_size: abc\nowner: 7\n"), [
    '4:13 batch_size | expected a number, got "abc"',
    "5:8 owner | expected a string, got 7",
  ]);
});

Deno.test("validate() reports a missing key at the entry that lacks it", () => {
  assert.deepEqual(check(Pipeline, "name: demo\nsource:\n  type: kafka\n  brokers: [a]\n"), [
    '1:1  | missing required key "version"',
    '2:1 source | missing required key "topic"',
  ]);
});

Deno.test("validate() reports an empty value as such", () => {
  assert.deepEqual(check(Pipeline, HEAD + "source:\n  type: file\n  path:\n"), [
    "5:3 source.path | expected a string, got an empty value",
  ]);
});

Deno.test("validate() reports a bad enum value with the allowed values and a hint", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "mode: strem\n"), [
    '4:7 mode | "strem" is not one of "batch", "stream" (did you mean "stream"?)',
  ]);
});

Deno.test("validate() reports a wrong literal", () => {
  assert.deepEqual(check(Pipeline, "name: demo\nversion: 2\n" + SOURCE), [
    "2:10 version | expected 1, got 2",
  ]);
});

Deno.test("validate() reports a wrong discriminator at the type value with the allowed types", () => {
  assert.deepEqual(check(Pipeline, HEAD + "source:\n  type: kafak\n  topic: t\n"), [
    '4:9 source.type | "kafak" is not one of "file", "kafka" (did you mean "kafka"?)',
  ]);
});

Deno.test("validate() reports a missing discriminator as a missing key", () => {
  assert.deepEqual(check(Pipeline, HEAD + "source:\n  path: x\n"), [
    '3:1 source | missing required key "type"',
  ]);
});

Deno.test("validate() hints unknown keys from the option chosen by the discriminator", () => {
  // "topics" is close to kafka's "topic", but this is a file source: no misleading hint.
  const text = HEAD + "source:\n  type: file\n  pth: x\n  topics: y\n";
  assert.deepEqual(check(Pipeline, text), [
    '3:1 source | missing required key "path"',
    '5:3 source.pth | unknown key "pth" (did you mean "path"?)',
    '6:3 source.topics | unknown key "topics"',
  ]);
});

Deno.test("validate() names every accepted form when no union option fits the value", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "window: true\n"), [
    "4:9 window | expected a number or a string, got true",
  ]);
});

Deno.test("validate() explains the closest option of a plain union of objects", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "retry:\n  kind: fixed\n  delay_second: 5\n"), [
    '4:1 retry | missing required key "delay_seconds"',
    '6:3 retry.delay_second | unknown key "delay_second" (did you mean "delay_seconds"?)',
  ]);
});

Deno.test("validate() reports sizes and bounds of strings, lists and numbers", () => {
  const text = 'name: "x"\nversion: 1\n' + SOURCE +
    "batch_size: -5\nrules:\n  - id: a\n  - id: b\n  - id: c\n" +
    "targets:\n  out: {type: file, path: o, poll_seconds: -1}\n";
  assert.deepEqual(check(Pipeline, text), [
    '1:7 name | must be at least 2 characters long, got "x"',
    "4:13 batch_size | must be more than 0, got -5",
    "4:13 batch_size | must be a multiple of 10, got -5",
    "5:1 rules | must have at most 2 items, got 3",
    "10:44 targets.out.poll_seconds | must be more than 0, got -1",
  ]);
  assert.deepEqual(check(Pipeline, "name: abcdefghijk\nversion: 1\n" + SOURCE), [
    '1:7 name | must be at most 10 characters long, got "abcdefghijk"',
  ]);
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "rules:\n  - id: a\n    keys: [[]]\n"), [
    "6:12 rules[0].keys[0] | must not be empty",
  ]);
});

Deno.test("validate() reports string formats and patterns", () => {
  const text = HEAD + SOURCE + "owner: nope\nrules:\n  - id: Bad\n";
  assert.deepEqual(check(Pipeline, text), [
    '4:8 owner | expected an email address, got "nope"',
    '6:9 rules[0].id | must match the pattern /^[a-z_]+$/, got "Bad"',
  ]);
});

Deno.test("validate() passes custom refinement messages through unchanged", () => {
  assert.deepEqual(check(Pipeline, HEAD + SOURCE + "window_seconds: 90\n"), [
    "4:17 window_seconds | window_seconds must be whole minutes",
  ]);
  const Range = z.strictObject({ min: z.number(), max: z.number() }).superRefine((r, ctx) => {
    if (r.min > r.max) ctx.addIssue({ code: "custom", path: ["max"], message: "Max is below min" });
  });
  assert.deepEqual(check(Range, "min: 5\nmax: 1\n"), ["2:6 max | Max is below min"]);
  const Named = z.strictObject({
    id: z.string().regex(/^[a-z]+$/, "must be a lower-case word"),
    size: z.number({ error: "size must be a number of bytes" }),
    tags: z.record(z.string().regex(/^[a-z]+$/, "must be lower-case"), z.string()),
  });
  assert.deepEqual(check(Named, "id: Abc\nsize: big\ntags: {A: x}\n"), [
    "1:5 id | must be a lower-case word",
    "2:7 size | size must be a number of bytes",
    '3:8 tags.A | invalid key "A": must be lower-case',
  ]);
});

Deno.test("validate() reports a record key that breaks the key schema at the key", () => {
  const text = HEAD + SOURCE + "targets:\n  Out1: {type: file, path: o}\n";
  assert.deepEqual(check(Pipeline, text), [
    '5:3 targets.Out1 | invalid key "Out1": must match the pattern /^[a-z]+$/, got "Out1"',
  ]);
});

Deno.test("validate() follows record values and discriminators for hints", () => {
  const text = HEAD + SOURCE + "targets:\n  out:\n    type: kafka\n    topic: t\n    broker: [a]\n";
  assert.deepEqual(check(Pipeline, text), [
    '5:3 targets.out | missing required key "brokers"',
    '8:5 targets.out.broker | unknown key "broker" (did you mean "brokers"?)',
  ]);
});

Deno.test("validate() locates errors inside nested arrays", () => {
  const text = HEAD + SOURCE +
    "rules:\n  - id: a\n  - id: b\n    keys:\n      - [x, y]\n      - [z, 5]\n";
  assert.deepEqual(check(Pipeline, text), ["9:13 rules[1].keys[1][1] | expected a string, got 5"]);
});

Deno.test("validate() reports several errors at once", () => {
  const text = "name: demo\nversion: 3\nsorce: {}\nmode: fast\nsource:\n  type: file\n";
  assert.deepEqual(check(Pipeline, text), [
    "2:10 version | expected 1, got 3",
    '3:1 sorce | unknown key "sorce" (did you mean "source"?)',
    '4:7 mode | "fast" is not one of "batch", "stream"',
    '5:1 source | missing required key "path"',
  ]);
});

Deno.test("validate() walks wrappers, pipes, transforms and lazy schemas for hints", () => {
  const Inner = z.strictObject({ interval_seconds: z.number() });
  const schema = z.strictObject({
    a: z.preprocess((v) => v, Inner),
    b: Inner.transform((v) => v.interval_seconds).optional(),
    c: z.lazy(() => Inner).nullable().default({ interval_seconds: 1 }),
  });
  const text = "a: {interval_secnds: 1}\nb: {interval_second: 1}\nc: {intervalseconds: 1}\n";
  assert.deepEqual(check(schema, text).filter((e) => e.includes("unknown")), [
    '1:5 a.interval_secnds | unknown key "interval_secnds" (did you mean "interval_seconds"?)',
    '2:5 b.interval_second | unknown key "interval_second" (did you mean "interval_seconds"?)',
    '3:5 c.intervalseconds | unknown key "intervalseconds" (did you mean "interval_seconds"?)',
  ]);
});

Deno.test("validate() reports a document that is not a mapping at the root", () => {
  assert.deepEqual(check(Pipeline, "# nothing yet\n"), [
    "1:1  | expected a mapping, got an empty value",
  ]);
  assert.deepEqual(check(Pipeline, "- a\n"), ["1:1  | expected a mapping, got a list"]);
});

Deno.test("validate() returns only the YAML errors when the file does not parse", () => {
  const loaded = loadYaml("p.yaml", "name: demo\nname: again\n", () => undefined);
  const result = validate(Pipeline, loaded);
  assert.equal(result.value, undefined);
  assert.deepEqual(result.errors.map((e) => e.message), ['duplicate key "name"']);
});

Deno.test("validate() does not repeat an unset variable as a schema error", () => {
  const text = 'name: ${NAME}\nversion: 1\nsource: {type: file, path: "${DIR:-/in}"}\n';
  assert.deepEqual(check(Pipeline, text), [
    '1:7 name | environment variable "NAME" is not set (use ${NAME:-default} for a default)',
  ]);
  assert.deepEqual(check(Pipeline, text, { NAME: "x" }), [
    '1:7 name | must be at least 2 characters long, got "x"',
  ]);
});

Deno.test("formatErrors() prints one sorted line per error with (root) for the document", () => {
  const e = (file: string, line: number, column: number, path: string): SpecError => ({
    file,
    line,
    column,
    path,
    message: `m${line}`,
  });
  const text = formatErrors([
    e("b.yaml", 1, 1, ""),
    e("a.yaml", 3, 2, "x.y"),
    e("a.yaml", 3, 1, "z"),
  ]);
  assert.equal(text, "a.yaml:3:1  z  m3\na.yaml:3:2  x.y  m3\nb.yaml:1:1  (root)  m1");
  assert.equal(formatErrors([]), "");
});

Deno.test("yamlPath() joins keys with dots and array indexes with brackets", () => {
  assert.equal(yamlPath(["targets", "local", "source", "type"]), "targets.local.source.type");
  assert.equal(yamlPath(["rules", 2, "id"]), "rules[2].id");
  assert.equal(yamlPath(["m", 0, 1]), "m[0][1]");
  assert.equal(yamlPath([0, "a"]), "[0].a");
  assert.equal(yamlPath(["$schema"]), "$schema");
  assert.equal(yamlPath(["streams", "orders.v1"]), 'streams["orders.v1"]');
  assert.equal(yamlPath([]), "");
});
