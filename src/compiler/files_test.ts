/**
 * The files a spec makes ics read. A pull request that edits the spec runs in CI, so the spec may
 * name only files in its own folder tree (symlinks resolved; `ICS_ALLOW_OUTSIDE` lists more
 * folders), files over 1 MiB are refused unread, and a file that is no rule file is reported by
 * name, never by what it holds. Each case works on a copy of the shipped spec in `spec/`, beside a
 * folder `outside/` holding what must not leak.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "../../tests/_copy.ts";
import { formatErrors, loadSpec, type SpecError } from "./mod.ts";
import { MAX_FILE_BYTES } from "../yaml/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRET = "hunter2-do-not-print";

/** A fresh copy of the shipped spec in `<base>/spec`, and `<base>/outside` beside it. */
async function fixture() {
  const base = await Deno.makeTempDir({ prefix: "ics-files-" });
  const dir = join(base, "spec");
  const out = join(base, "outside");
  await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
  await Deno.mkdir(out);
  // Looks like a rule file, so that reading it would print its values in errors.
  await Deno.writeTextFile(
    join(out, "secret.yaml"),
    `rules:\n  - id: leak\n    kind: ${SECRET}\n`,
  );
  await Deno.copyFile(join(dir, "schemas/avro/dde_event.avsc"), join(out, "dde_event.avsc"));
  const shipped = await Deno.readTextFile(join(dir, "pipeline.yaml"));
  return {
    base,
    dir,
    out,
    shipped,
    /** Write pipeline.yaml with `from` replaced by `to` and load it. */
    async load(edits: [string, string][] = [], env: Record<string, string> = {}) {
      let text = shipped;
      for (const [from, to] of edits) {
        assert.equal(text.split(from).length, 2, `"${from}" occurs once in pipeline.yaml`);
        text = text.replace(from, to);
      }
      await Deno.writeTextFile(join(dir, "pipeline.yaml"), text);
      return { ...(await loadSpec(join(dir, "pipeline.yaml"), (n) => env[n])), text };
    },
    remove: () => Deno.remove(base, { recursive: true }),
  };
}

/** Line and column of the first `needle` in `text`. */
function position(text: string, needle: string) {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `"${needle}" in the text`);
  const before = text.slice(0, at).split("\n");
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const brief = (errors: SpecError[]) =>
  errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.message}`);

Deno.test("a rule glob or file outside the spec's folder is an error at the glob, and is not read", async () => {
  const f = await fixture();
  try {
    const patterns = ["rules/*.yaml", "../outside/*.yaml", "../outside/secret.yaml", "/etc/*"];
    const r = await f.load([["rules: [rules/*.yaml]", `rules: [${patterns.join(", ")}]`]]);
    assert.equal(r.spec, undefined);
    const outside = (p: number, shown: string) =>
      `${position(r.text, patterns[p]).line}:${position(r.text, patterns[p]).column} ` +
      `correlation.rules[${p}] "${shown}" is outside the spec's folder; ` +
      "only ICS_ALLOW_OUTSIDE can allow another folder";
    assert.deepEqual(brief(r.errors), [
      outside(1, "../outside"),
      outside(2, "../outside/secret.yaml"),
      outside(3, "/etc"),
    ]);
    assert.ok(!formatErrors(r.errors).includes(SECRET));
  } finally {
    await f.remove();
  }
});

Deno.test("ICS_ALLOW_OUTSIDE lets the spec name files in the folders it lists", async () => {
  const f = await fixture();
  try {
    const rule = (await Deno.readTextFile(join(f.dir, "rules/tags.yaml")))
      .replace("id: scenario-contract-tag", "id: outside-tag");
    await Deno.writeTextFile(join(f.out, "secret.yaml"), rule);
    const edit: [string, string] = [
      "rules: [rules/*.yaml]",
      "rules: [rules/*.yaml, ../outside/*.yaml]",
    ];
    assert.equal((await f.load([edit])).spec, undefined);
    const r = await f.load([edit], { ICS_ALLOW_OUTSIDE: `/nonexistent:${f.out}` });
    assert.deepEqual(r.errors, []);
    assert.ok(r.spec?.rules.some((x) => x.id === "outside-tag"));
  } finally {
    await f.remove();
  }
});

Deno.test("an Avro schema, quality file or file source outside the spec's folder is an error at its key", async () => {
  const f = await fixture();
  try {
    // A link inside the folder that leads out of it counts as outside.
    await Deno.remove(join(f.dir, "schemas/avro/bdv_event.avsc"));
    await Deno.symlink(join(f.out, "dde_event.avsc"), join(f.dir, "schemas/avro/bdv_event.avsc"));
    const r = await f.load([
      ["schema: schemas/avro/dde_event.avsc", "schema: ../outside/dde_event.avsc"],
      [
        "labels: rules/tests/labels.jsonl",
        "labels: ../outside/labels.jsonl, corpus: /etc/hostname",
      ],
      ["path: samples/events.jsonl", "path: /etc/passwd"],
    ]);
    const at = (needle: string) =>
      `${position(r.text, needle).line}:${position(r.text, needle).column}`;
    const rest = "is outside the spec's folder; only ICS_ALLOW_OUTSIDE can allow another folder";
    const bdv = join(f.out, "dde_event.avsc");
    assert.deepEqual(brief(r.errors), [
      `${
        at("../outside/dde_event.avsc")
      } streams.dde.schema schema file "../outside/dde_event.avsc" ${rest}`,
      `${
        at("schemas/avro/bdv_event.avsc")
      } streams.bdv.schema schema file "schemas/avro/bdv_event.avsc" ` +
      `is outside the spec's folder (it leads to "${bdv}"); only ICS_ALLOW_OUTSIDE can allow another folder`,
      `${
        at("../outside/labels.jsonl")
      } quality.labels labels file "../outside/labels.jsonl" ${rest}`,
      `${at("/etc/hostname")} quality.corpus corpus "/etc/hostname" ${rest}`,
      `${at("/etc/passwd")} targets.local.source.path input file "/etc/passwd" ${rest}`,
    ]);
  } finally {
    await f.remove();
  }
});

Deno.test("a rule file linked from a globbed folder is read (a Kubernetes ConfigMap mount)", async () => {
  const f = await fixture();
  try {
    // What the kubelet writes: rules/..<timestamp>/x.yaml, rules/..data -> ..<timestamp>,
    // rules/x.yaml -> ..data/x.yaml.
    const rules = join(f.dir, "rules");
    await Deno.mkdir(join(rules, "..2026_01_01_00_00_00.1"));
    await Deno.rename(join(rules, "tags.yaml"), join(rules, "..2026_01_01_00_00_00.1/tags.yaml"));
    await Deno.symlink("..2026_01_01_00_00_00.1", join(rules, "..data"));
    await Deno.symlink("..data/tags.yaml", join(rules, "tags.yaml"));
    // `*` matches the links, not the dot folders.
    const r = await f.load([["rules: [rules/*.yaml]", "rules: [rules/*]"]]);
    assert.deepEqual(r.errors, []);
    assert.ok(r.spec?.ruleFiles.includes(join(rules, "tags.yaml")), String(r.spec?.ruleFiles));
    assert.ok(r.spec?.rules.some((x) => x.id === "scenario-contract-tag"));
  } finally {
    await f.remove();
  }
});

Deno.test("a link in a globbed folder that leads out of the spec's folder or to nothing is an error at the glob", async () => {
  const f = await fixture();
  try {
    await Deno.symlink(join(f.out, "secret.yaml"), join(f.dir, "rules/evil.yaml"));
    await Deno.symlink("gone.yaml", join(f.dir, "rules/dangling.yaml"));
    const r = await f.load();
    const at = position(r.text, "rules/*.yaml");
    assert.deepEqual(brief(r.errors), [
      `${at.line}:${at.column} correlation.rules[0] "rules/dangling.yaml" is a link to a file that does not exist`,
      `${at.line}:${at.column} correlation.rules[0] "rules/evil.yaml" is outside the spec's folder ` +
      `(it leads to "${
        join(f.out, "secret.yaml")
      }"); only ICS_ALLOW_OUTSIDE can allow another folder`,
    ]);
    assert.ok(!formatErrors(r.errors).includes(SECRET));
  } finally {
    await f.remove();
  }
});

Deno.test("a file a rule glob matches that is no rule file is named, never quoted", async () => {
  const f = await fixture();
  try {
    const files: Record<string, string> = {
      "env.yaml": `API_TOKEN=${SECRET}\nOTHER=x\n`,
      "config.yaml": `# settings\npassword: ${SECRET}\nrules: []\n`,
      // No YAML at all: syntax errors say where and what, never the text.
      "creds.yaml": `[default]\naws_secret_access_key = \${KEY:-${SECRET}}\n${SECRET} = x\n`,
      "list.yaml": `- ${SECRET}\n`,
      "typo.yaml": "rule: []\n",
    };
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(f.dir, "rules", name), text);
    }
    const r = await f.load();
    const not = 'not a rule file: a rule file is a mapping of "rules" (and "$schema")';
    assert.deepEqual(
      r.errors.map((e) =>
        `${e.file.split("/").at(-1)}:${e.line}:${e.column} ${e.path} ${e.message}`
      ),
      [
        `config.yaml:2:1  ${not}`,
        "creds.yaml:2:1  Unexpected scalar at node end",
        `env.yaml:1:1  ${not}`,
        `list.yaml:1:1  ${not}`,
        'typo.yaml:1:1  missing required key "rules"',
        'typo.yaml:1:1 rule unknown key "rule" (did you mean "rules"?)',
      ],
    );
    assert.ok(!formatErrors(r.errors).includes(SECRET));
  } finally {
    await f.remove();
  }
});

Deno.test("a spec, rule or schema file over 1 MiB is refused unread; 1 MiB is read", async () => {
  const f = await fixture();
  try {
    // The shipped files hold multi-byte characters (→): pad to a size in bytes.
    const bytes = (text: string) => new TextEncoder().encode(text).length;
    const pad = (text: string, size: number) => text + "#".repeat(size - bytes(text) - 1) + "\n";
    const spec = join(f.dir, "pipeline.yaml");
    await Deno.writeTextFile(spec, pad(f.shipped, MAX_FILE_BYTES));
    assert.deepEqual((await loadSpec(spec, () => undefined)).errors, []);
    await Deno.writeTextFile(spec, pad(f.shipped, MAX_FILE_BYTES + 1));
    const limit =
      "file is larger than 1 MiB (1048576 bytes), the limit for spec, rule and schema files";
    assert.deepEqual((await loadSpec(spec, () => undefined)).errors, [
      { file: spec, line: 1, column: 1, path: "", message: limit },
    ]);

    const rule = join(f.dir, "rules/tags.yaml");
    await Deno.writeTextFile(rule, pad(await Deno.readTextFile(rule), MAX_FILE_BYTES + 1));
    const schema = join(f.dir, "schemas/avro/dde_event.avsc");
    await Deno.writeTextFile(
      schema,
      (await Deno.readTextFile(schema)) + " ".repeat(MAX_FILE_BYTES),
    );
    const r = await f.load();
    const at = position(r.text, "schemas/avro/dde_event.avsc");
    assert.deepEqual(r.errors, [
      {
        file: r.errors[0].file,
        ...at,
        path: "streams.dde.schema",
        message: 'schema file "schemas/avro/dde_event.avsc" is larger than 1 MiB (1048576 bytes)',
      },
      { file: r.errors[1].file, line: 1, column: 1, path: "", message: limit },
    ]);
    assert.ok(r.errors[1].file.endsWith("rules/tags.yaml"));
  } finally {
    await f.remove();
  }
});
