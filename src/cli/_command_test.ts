import assert from "node:assert/strict";
import { command } from "./_command.ts";
import { boolean, number, oneOf, repeatable, someOf, string, time } from "./_flags.ts";

const cli = command({
  name: "demo",
  summary: "a command to test the parser with",
  args: "[FILE]",
  about: "Demonstrates every kind of flag.",
  flags: {
    name: string("NAME", "a name"),
    out: string("DIR", "where to write", { default: "out" }),
    base: string("REF", "what to compare with", { required: true, accepts: "a git revision" }),
    tag: repeatable("T", "a tag"),
    dry: boolean("write nothing"),
    ratio: number("X", "a ratio", { min: 0, max: 1 }),
    count: number("N", "how many", { min: 1, integer: true, default: 3 }),
    format: oneOf(["markdown", "json"], "F", "report format", { default: "markdown" }),
    kinds: someOf(["added", "removed"], "KINDS", "change kinds"),
    from: time("WHERE", "where to start", { also: ["earliest"] }),
  },
});
const parse = (...args: string[]) => cli.parse(["--base", "main", ...args]);
const error = (...args: string[]) => {
  try {
    cli.parse(args);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail(`${args.join(" ")} was accepted`);
};

Deno.test("parse() applies defaults and leaves absent optional flags undefined", () => {
  const { values, positionals } = parse();
  assert.deepEqual(values, {
    name: undefined,
    out: "out",
    base: "main",
    tag: undefined,
    dry: false,
    ratio: undefined,
    count: 3,
    format: "markdown",
    kinds: undefined,
    from: undefined,
  });
  assert.deepEqual(positionals, []);
});

Deno.test("parse() converts each kind of value", () => {
  const { values, positionals } = parse(
    "file.jsonl",
    "--name=x",
    "--tag",
    "a",
    "--tag=b",
    "--dry",
    "--ratio",
    ".5",
    "--count",
    "1e1",
    "--format",
    "json",
    "--kinds",
    "added, removed",
    "--from",
    "2025-01-06T09:00:00Z",
    "--",
    "--not-a-flag",
  );
  assert.deepEqual(values, {
    name: "x",
    out: "out",
    base: "main",
    tag: ["a", "b"],
    dry: true,
    ratio: 0.5,
    count: 10,
    format: "json",
    kinds: ["added", "removed"],
    from: Date.UTC(2025, 0, 6, 9),
  });
  assert.deepEqual(positionals, ["file.jsonl", "--not-a-flag"]);
  assert.equal(parse("--from", "earliest").values.from, "earliest");
  assert.equal(parse("--from", "1736154000000").values.from, 1736154000000);
  assert.equal(parse("--from", "2025-01-06 09:00:00+01:00").values.from, Date.UTC(2025, 0, 6, 8));
  assert.equal(parse("--name", "a", "--name", "b").values.name, "b", "the last one counts");
});

Deno.test("parse() rejects an unknown flag in one line, with a hint when one is close", () => {
  assert.equal(error("--nmae", "x"), "unknown flag --nmae (did you mean --name?)");
  assert.equal(error("--bogus"), "unknown flag --bogus (see ics demo --help)");
  assert.equal(error("-n", "x"), "unknown flag -n (did you mean --name?)");
  assert.equal(error("-x"), "unknown flag -x (see ics demo --help)");
  assert.equal(error("-f"), "unknown flag -f (see ics demo --help)", "--format or --from");
});

Deno.test("parse() rejects a missing value, naming the flag and what it takes", () => {
  assert.equal(error("--base"), "--base needs a value: a git revision");
  assert.equal(error("--base", "main", "--name"), "--name needs a value (NAME: a name)");
  // The next word is a flag, not the value: the value is missing.
  assert.equal(error("--base", "main", "--name", "--dry"), "--name needs a value (NAME: a name)");
  assert.equal(error("--name", "x"), "--base is required: a git revision");
  assert.equal(error("--base", "main", "--dry=yes"), '--dry takes no value (got "yes")');
});

Deno.test("parse() checks numbers against their type and range", () => {
  const bad = (flag: string, value: string) => error("--base", "m", flag, value);
  assert.equal(bad("--ratio", "abc"), '--ratio "abc" is not a number from 0 to 1');
  assert.equal(bad("--ratio", "2"), '--ratio "2" is not a number from 0 to 1');
  // A negative number is a value, not a flag.
  assert.equal(bad("--ratio", "-1"), '--ratio "-1" is not a number from 0 to 1');
  assert.equal(bad("--ratio", ""), '--ratio "" is not a number from 0 to 1');
  assert.equal(bad("--ratio", "0x1"), '--ratio "0x1" is not a number from 0 to 1');
  assert.equal(bad("--count", "1.5"), '--count "1.5" is not a whole number of 1 or more');
  assert.equal(bad("--count", "0"), '--count "0" is not a whole number of 1 or more');
  assert.equal(bad("--count", "Infinity"), '--count "Infinity" is not a whole number of 1 or more');
});

Deno.test("parse() checks enums and times, saying what is accepted", () => {
  const bad = (flag: string, value: string) => error("--base", "m", flag, value);
  assert.equal(
    bad("--format", "jsno"),
    '--format "jsno" is not one of markdown, json (did you mean "json"?)',
  );
  assert.equal(bad("--format", "xml"), '--format "xml" is not one of markdown, json');
  assert.equal(bad("--kinds", "added,gone"), '--kinds "gone" is not one of added, removed');
  assert.equal(
    bad("--from", "yesterday"),
    '--from "yesterday" is not earliest, or an ISO 8601 time such as 2025-01-06T09:00:00Z, ' +
      "or epoch milliseconds",
  );
  assert.match(bad("--from", "2025-13-01"), /^--from "2025-13-01" is not earliest, or/);
});

Deno.test("parse() rejects positional arguments a command does not take", () => {
  const none = command({ name: "bare", summary: "", about: "", flags: {} });
  assert.throws(() => none.parse(["x"]), {
    message: 'unexpected argument "x" (see ics bare --help)',
  });
});

Deno.test("the help renders every flag from its declaration: help, accepted values, default", () => {
  assert.equal(
    cli.help,
    `Usage: ics demo [FILE] --base REF [flags]

Demonstrates every kind of flag.

Flags:
  --name NAME     a name
  --out DIR       where to write (default: out)
  --base REF      what to compare with (a git revision)
  --tag T         a tag (repeatable)
  --dry           write nothing
  --ratio X       a ratio (a number from 0 to 1)
  --count N       how many (a whole number of 1 or more; default: 3)
  --format F      report format (one of markdown, json; default: markdown)
  --kinds KINDS   change kinds (comma-separated, each one of added, removed)
  --from WHERE    where to start (earliest, or an ISO 8601 time such as 2025-01-06T09:00:00Z, or
                  epoch milliseconds)

Exit codes: 0 done, 1 invalid spec, 2 bad usage, 3 runtime failure.`,
  );
});
