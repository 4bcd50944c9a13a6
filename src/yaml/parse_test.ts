import assert from "node:assert/strict";
import { loadYaml } from "./_parse.ts";
import { repoUrl, runWithin } from "../../tests/_deadline.ts";

const ENV: Record<string, string> = { HOST: "db.local", PORT: "5432", EMPTY: "", N: "42" };
const env = (name: string) => ENV[name];
const load = (text: string) => loadYaml("p.yaml", text, env);
const brief = (l: ReturnType<typeof load>) =>
  l.errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.message}`);

Deno.test("loadYaml() returns the plain value of a valid file without errors", () => {
  const l = load("name: demo\nlimits:\n  - 1\n  - two\nflag: true\n");
  assert.deepEqual(l.value, { name: "demo", limits: [1, "two"], flag: true });
  assert.deepEqual(l.errors, []);
  assert.equal(l.file, "p.yaml");
});

Deno.test("loadYaml() reports every syntax error with its line and column", () => {
  const l = load("a: 1\n  b: 2\n");
  assert.equal(l.value, undefined);
  assert.deepEqual(brief(l), [
    "1:4  Nested mappings are not allowed in compact mappings",
    "1:4  Implicit keys need to be on a single line",
  ]);
});

Deno.test("loadYaml() reports an unclosed quote at the end of the scalar", () => {
  const l = load("a: ok\nb: 'x\n");
  assert.deepEqual(brief(l), ["3:1  Missing closing 'quote"]);
});

Deno.test("loadYaml() reports each duplicate key at the repeated key", () => {
  const l = load(`a: 1\nb: 2\na: 3\nnested:\n  long_key: 1\n  "long_key": 2\n`);
  assert.equal(l.value, undefined);
  assert.deepEqual(brief(l), [
    '3:1 a duplicate key "a"',
    '6:3 nested.long_key duplicate key "long_key"',
  ]);
});

Deno.test("loadYaml() reports a reference to an unknown alias", () => {
  const l = load("base: &b {x: 1}\ncopy: *b\nbad: *nope\n");
  assert.equal(l.value, undefined);
  assert.deepEqual(brief(l), ['3:6 bad unknown alias "*nope"']);
});

Deno.test("loadYaml() resolves anchors and aliases", () => {
  const l = load("base: &b {x: 1}\ncopy: *b\n");
  assert.deepEqual(l.value, { base: { x: 1 }, copy: { x: 1 } });
  assert.deepEqual(l.errors, []);
});

Deno.test("loadYaml() interpolates a set variable", () => {
  assert.deepEqual(load("host: ${HOST}\n").value, { host: "db.local" });
});

Deno.test("loadYaml() interpolates several references anywhere in one string", () => {
  const l = load('url: "postgres://${HOST}:${PORT}/${DB:-app}?x=1"\n');
  assert.deepEqual(l.value, { url: "postgres://db.local:5432/app?x=1" });
});

Deno.test("loadYaml() uses the default when the variable is unset or empty", () => {
  const l = load(
    "a: ${MISSING:-fallback}\nb: ${EMPTY:-fallback}\nc: ${MISSING:-}\nd: ${HOST:-x}\n",
  );
  assert.deepEqual(l.value, { a: "fallback", b: "fallback", c: "", d: "db.local" });
  assert.deepEqual(l.errors, []);
});

Deno.test("loadYaml() keeps an interpolated number-like value a string", () => {
  assert.deepEqual(load("port: ${N}\nplain: 42\n").value, { port: "42", plain: 42 });
});

Deno.test("loadYaml() turns $${...} into a literal ${...}", () => {
  const l = load("a: $${HOST} costs $5\nb: $${MISSING} and ${HOST}\n");
  assert.deepEqual(l.value, { a: "${HOST} costs $5", b: "${MISSING} and db.local" });
  assert.deepEqual(l.errors, []);
});

Deno.test("loadYaml() reports an unset variable at its scalar with the YAML path", () => {
  const l = load("sinks:\n  - name: out\n    password: x${SECRET}y\n");
  assert.deepEqual(brief(l), [
    '3:15 sinks[0].password environment variable "SECRET" is not set ' +
    "(use ${SECRET:-default} for a default)",
  ]);
  // The value is still produced so that schema validation can report the other problems.
  assert.deepEqual(l.value, { sinks: [{ name: "out", password: "xy" }] });
});

Deno.test("loadYaml() reports every unset variable in one string", () => {
  const l = load("a: ${ONE}-${TWO}\n");
  assert.deepEqual(l.errors.map((e) => e.message.split(" is")[0]), [
    'environment variable "ONE"',
    'environment variable "TWO"',
  ]);
});

Deno.test("loadYaml() reports a malformed reference instead of keeping it silently", () => {
  const l = load("a: ${HOST-x}\n");
  assert.deepEqual(brief(l), ['1:4 a invalid environment variable reference "${HOST-x}"']);
});

Deno.test("loadYaml() does not interpolate mapping keys", () => {
  assert.deepEqual(load("${HOST}: 1\n").value, { "${HOST}": 1 });
});

Deno.test("locate() finds nested keys, array items and values behind aliases", () => {
  const l = load("a:\n  b: [10, 20]\n  c:\n    - x: 1\nd: &x {q: 1}\ne: *x\n");
  assert.deepEqual(l.locate([]), { line: 1, column: 1 });
  assert.deepEqual(l.locate(["a", "b"]), { line: 2, column: 6 });
  assert.deepEqual(l.locate(["a", "b", 1]), { line: 2, column: 11 });
  assert.deepEqual(l.locate(["a", "c", 0, "x"]), { line: 4, column: 10 });
  assert.deepEqual(l.locate(["e", "q"]), { line: 5, column: 11 });
});

Deno.test("locate() falls back to the nearest existing ancestor", () => {
  const l = load("a:\n  b: 1\nlist: [x]\n");
  assert.deepEqual(l.locate(["a", "missing", "deeper"]), { line: 1, column: 1 });
  assert.deepEqual(l.locate(["a", "b", "deeper"]), { line: 2, column: 6 });
  assert.deepEqual(l.locate(["list", 7]), { line: 3, column: 7 });
  assert.deepEqual(l.locate(["nope"]), { line: 1, column: 1 });
});

Deno.test("locate() points at the key of an empty value or a block collection", () => {
  const l = load("a:\n  empty:\n  b: 1\n  list:\n    - x\n  flow: {c: 1}\n");
  assert.deepEqual(l.locate(["a", "empty"]), { line: 2, column: 3 });
  assert.deepEqual(l.locate(["a"]), { line: 1, column: 1 });
  assert.deepEqual(l.locate(["a", "list"]), { line: 4, column: 3 });
  assert.deepEqual(l.locate(["a", "list", 0]), { line: 5, column: 7 });
  assert.deepEqual(l.locate(["a", "flow"]), { line: 6, column: 9 });
});

Deno.test("locateKey() points at the key and falls back to locate()", () => {
  const l = load("a:\n  bb:   7\nlist: [1]\n");
  assert.deepEqual(l.locateKey(["a", "bb"]), { line: 2, column: 3 });
  assert.deepEqual(l.locate(["a", "bb"]), { line: 2, column: 9 });
  assert.deepEqual(l.locateKey(["list", 0]), { line: 3, column: 8 });
  assert.deepEqual(l.locateKey(["a", "zz"]), l.locate(["a"]));
});

Deno.test("loadYaml() gives an empty document the value null", () => {
  const l = load("# only a comment\n");
  assert.equal(l.value, null);
  assert.deepEqual(l.errors, []);
  assert.deepEqual(l.locate(["x"]), { line: 1, column: 1 });
});

// ---- hostile documents -------------------------------------------------------------------------

Deno.test("loadYaml() positions an alias bomb at the alias that makes it explode", () => {
  // Each level repeats the one before nine times: 9^7 values from seven short lines.
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (const [p, c] of ["ab", "bc", "cd", "de", "ef", "fg"]) {
    lines.push(`${c}: &${c} [${Array(9).fill(`*${p}`).join(", ")}]`);
  }
  const l = load(lines.join("\n") + "\n");
  assert.equal(l.value, undefined);
  // The aliases of b..e repeat 74,718 values (a list counts as one value besides its items); the
  // first *e of f repeats 66,430 more.
  assert.deepEqual(brief(l), [
    '6:8 f[0] alias "*e" makes the aliases repeat more than 100000 values (an alias bomb?)',
  ]);
});

Deno.test("loadYaml() reports an alias inside the value it refers to", () => {
  const l = load("a: &a [1, *a]\nb: &b {c: {d: *b}}\n");
  assert.equal(l.value, undefined);
  assert.deepEqual(brief(l), [
    '1:11 a[1] alias "*a" is inside what it refers to',
    '2:15 b.c.d alias "*b" is inside what it refers to',
  ]);
});

Deno.test("loadYaml() accepts one anchor aliased many times, and refuses a thousand and one aliases", () => {
  const many = (n: number) => `a: &a x\nl: [${Array(n).fill("*a").join(", ")}]\n`;
  const ok = load(many(1000));
  assert.deepEqual(ok.errors, []);
  assert.equal((ok.value as { l: string[] }).l.length, 1000);
  const l = load(many(1001));
  assert.deepEqual(brief(l), ["2:4005 l[1000] more than 1000 aliases in one file"]);
});

Deno.test("a 60,000-key file with 30,000 duplicate keys, unknown keys or unset variables is checked in linear time", async () => {
  // The parser's own duplicate check and our position lookups were quadratic: minutes.
  const out = await runWithin(
    60,
    `import { loadYaml } from "${repoUrl("src/yaml/mod.ts")}";
    import { validate } from "${repoUrl("src/yaml/mod.ts")}";
    import { pipelineSchema } from "${repoUrl("src/compiler/_schema.ts")}";
    let text = "";
    for (let i = 0; i < 60000; i++) text += "k" + (i % 30000) + ": " + i + "\\n";
    const dup = loadYaml("p.yaml", text, () => undefined);
    text = "";
    for (let i = 0; i < 60000; i++) text += "k" + i + ": " + i + "\\n";
    const unknown = validate(pipelineSchema, loadYaml("p.yaml", text, () => undefined));
    text = "";
    for (let i = 0; i < 60000; i++) text += "k" + i + ": \${V" + i + "}\\n";
    const unset = validate(pipelineSchema, loadYaml("p.yaml", text, () => undefined));
    console.log(JSON.stringify([
      dup.errors.length, dup.errors.at(-1), unknown.errors.at(-1), unset.errors.length,
    ]));`,
  );
  const [count, lastDup, lastUnknown, unset] = JSON.parse(out);
  // An unset variable hides the schema's complaints about what it left behind: one error each,
  // and one for each of the 5 required keys missing.
  assert.equal(unset, 60_005);
  assert.equal(count, 30_000);
  assert.deepEqual(lastDup, {
    file: "p.yaml",
    line: 60_000,
    column: 1,
    path: "k29999",
    message: 'duplicate key "k29999"',
  });
  assert.deepEqual(lastUnknown, {
    file: "p.yaml",
    line: 60_000,
    column: 1,
    path: "k59999",
    message: 'unknown key "k59999"',
  });
});
