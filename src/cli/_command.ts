/**
 * A command's declaration (its summary, arguments, description and flags) and what is rendered
 * from it: the parser (node's `parseArgs` splits the words; the declarations check them) and the
 * `--help` text. Usage errors are one line: an unknown flag with a "did you mean", a missing
 * value, a value outside what the flag accepts, an unexpected argument.
 * @module
 */
import { parseArgs } from "node:util";
import { didYouMean } from "../core/did_you_mean.ts";
import { type Flag, type Flags, UsageError, type Values } from "./_flags.ts";

export interface CommandSpec<F extends Flags> {
  /** The command's name as typed (`links`, `dlq`). */
  name: string;
  /** One line for `ics --help`. */
  summary: string;
  /** The positional arguments in the usage line (`A B`, `[FILE]`, `redrive`); none when absent. */
  args?: string;
  /** What the command does: prose under the usage line, formatted as written. */
  about: string;
  flags: F;
  /** Text after the flags (a file format), formatted as written. */
  more?: string;
  /** After "Exit codes: ". */
  exits?: string;
}

export interface Command<F extends Flags> extends CommandSpec<F> {
  /** The `--help` text. */
  help: string;
  /** The flags' values (defaults applied) and the positional arguments. */
  parse(args: string[]): { values: Values<F>; positionals: string[] };
}

const WIDTH = 100;
const EXITS = "0 done, 1 invalid spec, 2 bad usage, 3 runtime failure.";

export function command<const F extends Flags>(spec: CommandSpec<F>): Command<F> {
  return { ...spec, help: render(spec), parse: (args) => parse(spec, args) };
}

/** A value that is a flag rather than the value of the one before it. */
const looksLikeFlag = (text: string) =>
  text.startsWith("-") && text !== "-" && !/^-(\d|\.\d)/.test(text);

function parse<F extends Flags>(spec: CommandSpec<F>, args: string[]) {
  const flags: Record<string, Flag> = spec.flags;
  const { tokens } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: Object.fromEntries(
      Object.entries(flags).map(([name, f]) => [name, {
        type: f.kind === "boolean" ? "boolean" as const : "string" as const,
        multiple: f.repeatable ?? false,
      }]),
    ),
  });
  const see = `(see ics ${spec.name} --help)`;
  const texts = new Map<string, string[]>();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      if (!spec.args) {
        throw new UsageError(`unexpected argument ${JSON.stringify(token.value)} ${see}`);
      }
      positionals.push(token.value);
      continue;
    }
    const flag = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (!flag || token.rawName !== `--${token.name}`) {
      // `-n`: the one flag starting with n, if there is one; `--nmae`: the closest name.
      const starting = Object.keys(flags).filter((name) => name.startsWith(token.name));
      const hint = token.rawName.startsWith("--")
        ? didYouMean(token.name, Object.keys(flags))
        : starting.length === 1
        ? starting[0]
        : undefined;
      throw new UsageError(
        `unknown flag ${token.rawName}${hint ? ` (did you mean --${hint}?)` : ` ${see}`}`,
      );
    }
    if (flag.kind === "boolean") {
      if (token.value !== undefined) {
        throw new UsageError(
          `${token.rawName} takes no value (got ${JSON.stringify(token.value)})`,
        );
      }
      texts.set(token.name, [""]);
      continue;
    }
    if (token.value === undefined || (!token.inlineValue && looksLikeFlag(token.value))) {
      throw new UsageError(`${token.rawName} needs a value${describe(flag)}`);
    }
    texts.set(token.name, [...(flag.repeatable ? texts.get(token.name) ?? [] : []), token.value]);
  }
  // Values in the order given, then what is missing: a bad value is reported before a missing one.
  const values: Record<string, unknown> = {};
  for (const [name, given] of texts) {
    const parsed = given.map((text) => flags[name].parse(text, `--${name}`));
    values[name] = flags[name].repeatable ? parsed : parsed[0];
  }
  for (const [name, flag] of Object.entries(flags)) {
    if (texts.has(name)) continue;
    if (flag.required) throw new UsageError(`--${name} is required${describe(flag)}`);
    values[name] = flag.default;
  }
  return { values: values as Values<F>, positionals };
}

/** What a flag's value is, for errors: what it accepts, else its placeholder and help. */
function describe(flag: Flag): string {
  return flag.accepts ? `: ${flag.accepts}` : ` (${flag.arg}: ${flag.help})`;
}

function render(spec: CommandSpec<Flags>): string {
  const required = Object.entries(spec.flags).filter(([, f]) => f.required)
    .map(([name, f]) => ` --${name} ${f.arg}`).join("");
  const lines = [
    `Usage: ics ${spec.name}${spec.args ? ` ${spec.args}` : ""}${required} [flags]`,
    "",
    spec.about.replace(/^\n+|\s+$/g, ""),
    "",
    "Flags:",
    ...flagLines(spec.flags),
  ];
  if (spec.more) lines.push("", spec.more.replace(/^\n+|\s+$/g, ""));
  lines.push("", wrap(`Exit codes: ${spec.exits ?? EXITS}`, 0));
  return lines.join("\n");
}

/** One entry per flag: `--name ARG` and its help, in a column, wrapped. */
export function flagLines(flags: Flags): string[] {
  const heads = Object.entries(flags).map(([name, f]) => `  --${name}${f.arg ? ` ${f.arg}` : ""}`);
  const column = Math.min(Math.max(...heads.map((h) => h.length)) + 3, 26);
  return Object.values(flags).flatMap((flag, i) => {
    const text = wrap(flagHelp(flag), column);
    const head = heads[i];
    return head.length + 2 <= column ? [head.padEnd(column) + text.trimStart()] : [head, text];
  });
}

/** The help of a flag with what it accepts and its default: `help (accepts; default: x)`. */
export function flagHelp(flag: Flag): string {
  const notes = [
    flag.accepts,
    flag.repeatable ? "repeatable" : undefined,
    flag.defaultHelp !== undefined
      ? `default: ${flag.defaultHelp}`
      : flag.default !== undefined && flag.kind !== "boolean"
      ? `default: ${flag.default}`
      : undefined,
  ].filter(Boolean);
  return notes.length ? `${flag.help} (${notes.join("; ")})` : flag.help;
}

/** `text` in lines of at most WIDTH characters, each indented by `indent` spaces. */
export function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > WIDTH) lines.push(line), line = word;
    else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.map((l) => " ".repeat(indent) + l).join("\n");
}
