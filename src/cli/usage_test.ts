/**
 * Every command's `--help` and usage errors, table-driven over the declarations in `main.ts`: each
 * flag is listed once with its help, and every bad numeric, enum or time value exits 2 with one
 * line naming the flag, the value and what is accepted, before anything is opened or read.
 */
import assert from "node:assert/strict";
import { capture } from "./_capture.ts";
import { commands, main } from "./main.ts";
import { flagHelp } from "./_command.ts";
import type { Flag } from "./_flags.ts";

const ics = (...args: string[]) => capture({ main }, ...args);
const squash = (text: string) => text.replace(/\s+/g, " ");
const declared = Object.values(commands).map(({ cli }) => cli);

for (const cli of declared) {
  Deno.test(`ics ${cli.name} --help lists each of its flags once, with its help`, async () => {
    const { code, stdout, stderr } = await ics(cli.name, "--help");
    assert.equal(code, 0, stderr);
    assert.equal(stdout, cli.help);
    for (const [name, flag] of Object.entries(cli.flags)) {
      const heads = stdout.match(new RegExp(`^ {2}--${name}\\b`, "gm")) ?? [];
      assert.equal(heads.length, 1, `--${name} listed ${heads.length} times:\n${stdout}`);
      const entry = `--${name}${flag.arg ? ` ${flag.arg}` : ""} ${flagHelp(flag)}`;
      assert.ok(squash(stdout).includes(squash(entry)), `--${name}: "${entry}" in\n${stdout}`);
    }
    // Every flag the text mentions is one the command takes.
    for (const [mention] of stdout.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
      assert.ok(
        Object.hasOwn(cli.flags, mention.slice(2)),
        `${mention} is not a flag of ${cli.name}`,
      );
    }
    const long = stdout.split("\n").filter((line) => line.length > 100);
    assert.deepEqual(long, [], "lines wider than 100 characters");
  });
}

Deno.test("ics --help lists every command with its summary", async () => {
  const { code, stdout } = await ics("--help");
  assert.equal(code, 0);
  for (const cli of declared) {
    assert.match(stdout, new RegExp(`^ {2}${cli.name} +${RegExp.escape(cli.summary)}$`, "m"));
  }
});

/** Values a flag must refuse, with what it says it accepts. */
function badValues(flag: Flag): string[] {
  switch (flag.kind) {
    case "number":
      return [
        "abc",
        "",
        "1x",
        ...(flag.min !== undefined ? [String(flag.min - 1)] : []),
        ...(flag.max !== undefined ? [String(flag.max + 1)] : []),
        ...(flag.integer ? [String((flag.min ?? 0) + 0.5)] : []),
      ];
    case "enum":
      return ["nonsense"];
    case "time":
      return ["yesterday", "2025-13-45", "12:00"];
    default:
      return [];
  }
}

const cases = declared.flatMap((cli) =>
  Object.entries(cli.flags).flatMap(([name, flag]) =>
    badValues(flag).map((value) => ({ command: cli.name, name, flag, value }))
  )
);

Deno.test("every numeric flag has a range that its help states", () => {
  const numeric = cases.filter((c) => c.flag.kind === "number");
  assert.ok(numeric.length >= 10, `${numeric.length} numeric flags`);
  for (const { command, name, flag } of numeric) {
    assert.ok(flag.min !== undefined, `ics ${command} --${name} has no lower bound`);
    assert.ok(flagHelp(flag).includes(flag.accepts!), `ics ${command} --${name}`);
  }
});

for (const { command, name, flag, value } of cases) {
  Deno.test(`ics ${command} --${name} ${JSON.stringify(value)} exits 2 with one line`, async () => {
    const { code, stdout, stderr } = await ics(command, `--${name}`, value);
    assert.equal(code, 2, stderr);
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `ics ${command}: --${name} ${JSON.stringify(value)} is not ${
        flag.kind === "enum" ? `one of ${flag.values!.join(", ")}` : flag.accepts
      }`,
    );
  });
}

Deno.test("a misspelt flag gets a hint on every command; an unknown one the help", async () => {
  for (const cli of declared) {
    const [name] = Object.keys(cli.flags).filter((n) => n.length >= 4);
    if (!name) continue;
    const typo = name.slice(0, -2) + name.at(-1) + name.at(-2);
    const hinted = await ics(cli.name, `--${typo}`);
    assert.equal(hinted.code, 2);
    assert.equal(
      hinted.stderr,
      `ics ${cli.name}: unknown flag --${typo} (did you mean --${name}?)`,
    );
  }
  const unknown = await ics("links", "--colour", "red");
  assert.equal(unknown.stderr, "ics links: unknown flag --colour (see ics links --help)");
});

Deno.test("a flag without its value exits 2 with one line saying what it takes", async () => {
  const missing = await ics("links", "--min-confidence");
  assert.equal(missing.code, 2);
  assert.equal(missing.stderr, "ics links: --min-confidence needs a value: a number from 0 to 1");
  const next = await ics("links", "--spec", "--json");
  assert.equal(next.stderr, "ics links: --spec needs a value (FILE: pipeline spec)");
  const required = await ics("plan");
  assert.equal(
    required.stderr,
    "ics plan: --base is required: a git revision (main, HEAD~1, a sha), a folder holding the " +
      "spec, or a spec file",
  );
});
