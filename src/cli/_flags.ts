/**
 * Flag declarations: one per flag (its type, accepted values, default and one-line help), from
 * which both the parser and the `--help` text of a command are rendered (`_command.ts`). A value
 * is checked where it is declared: a bad one is a one-line usage error naming the flag, the value
 * and what is accepted.
 * @module
 */
import { UserError } from "../core/errors.ts";
import { didYouMean } from "../core/did_you_mean.ts";

/**
 * A flag's declaration. `T` is its parsed value; `Given` whether a command always has a value
 * (a default, a required flag, a boolean) or may get `undefined`.
 */
export interface Flag<T = unknown, Given extends boolean = boolean> {
  readonly kind: "string" | "number" | "boolean" | "enum" | "time";
  /** The value's placeholder in the help (FILE, N, T); none for a boolean. */
  readonly arg?: string;
  /** One line (the help wraps it): what the flag does. */
  readonly help: string;
  /** The values accepted, in words ("a number from 0 to 1"): in the help and in errors. */
  readonly accepts?: string;
  readonly default?: T;
  /** The default in words when it is not a fixed value ("the spec's default_target"). */
  readonly defaultHelp?: string;
  readonly required?: boolean;
  /** Given several times, the values are collected (`T` is then an array). */
  readonly repeatable?: boolean;
  /** Comma-separated values (`T` is then an array). */
  readonly list?: boolean;
  /** Numbers: the range. */
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Enums: the accepted values. */
  readonly values?: readonly string[];
  /** Text → value of one occurrence; throws a `UsageError` naming the flag. */
  readonly parse: (text: string, flag: string) => unknown;
  /** Whether a command always gets a value (type-level only). */
  readonly given?: Given;
}

/** A set of flags, by name (without the dashes). Shared groups are such sets, spread in. */
export type Flags = Record<string, Flag>;

/** The parsed values of a set of flags. */
export type Values<F extends Flags> = {
  -readonly [K in keyof F]: F[K] extends Flag<infer T, infer G> ? G extends true ? T : T | undefined
    : never;
};

/** Bad usage: a one-line error, exit 2. */
export class UsageError extends UserError {
  override name = "UsageError";
}

interface Options<T> {
  default?: T;
  defaultHelp?: string;
  required?: boolean;
  /** Strings: the values accepted, when the help does not say it (used by "is required"). */
  accepts?: string;
}
type GivenBy<O> = O extends { default: unknown } ? true : O extends { required: true } ? true
: false;

const quote = (text: string) => JSON.stringify(text);

/** A string, any text. */
export function string<const O extends Options<string> = Record<never, never>>(
  arg: string,
  help: string,
  options?: O,
): Flag<string, GivenBy<O>> {
  return { kind: "string", arg, help, ...options, parse: (text) => text };
}

/** A string that may be given several times (`--iteration a --iteration b`). */
export function repeatable(
  arg: string,
  help: string,
  options?: { defaultHelp?: string },
): Flag<string[], false> {
  return { kind: "string", arg, help, repeatable: true, ...options, parse: (text) => text };
}

/** A boolean switch: true when given, false otherwise; it takes no value. */
export function boolean(help: string): Flag<boolean, true> {
  return { kind: "boolean", help, default: false, parse: () => true };
}

interface Range {
  min?: number;
  max?: number;
  /** Whole numbers only. */
  integer?: boolean;
}

/** A number within a range: `1e3`, `0.5` and `.5` are numbers; `0x10`, `1_000` and `` are not. */
export function number<const O extends Options<number> & Range = Record<never, never>>(
  arg: string,
  help: string,
  options?: O,
): Flag<number, GivenBy<O>> {
  const { min, max, integer } = options ?? {};
  const noun = integer ? "a whole number" : "a number";
  const accepts = min !== undefined && max !== undefined
    ? `${noun} from ${min} to ${max}`
    : min !== undefined
    ? `${noun} of ${min} or more`
    : max !== undefined
    ? `${noun} of ${max} or less`
    : noun;
  return {
    kind: "number",
    arg,
    help,
    accepts,
    ...options,
    parse(text, flag) {
      const n = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text) ? Number(text) : NaN;
      const ok = Number.isFinite(n) && (!integer || Number.isInteger(n)) &&
        (min === undefined || n >= min) && (max === undefined || n <= max);
      if (!ok) throw new UsageError(`${flag} ${quote(text)} is not ${accepts}`);
      return n;
    },
  };
}

/** One of a fixed set of values. */
export function oneOf<const V extends string, const O extends Options<V> = Record<never, never>>(
  values: readonly V[],
  arg: string,
  help: string,
  options?: O,
): Flag<V, GivenBy<O>> {
  return {
    kind: "enum",
    arg,
    help,
    values,
    accepts: `one of ${values.join(", ")}`,
    ...options,
    parse: (text, flag) => member(values, text, flag),
  };
}

/** Several of a fixed set of values, comma-separated (`--fail-on removed,rescored`). */
export function someOf<const V extends string>(
  values: readonly V[],
  arg: string,
  help: string,
): Flag<V[], false> {
  return {
    kind: "enum",
    arg,
    help,
    values,
    list: true,
    accepts: `comma-separated, each one of ${values.join(", ")}`,
    parse: (text, flag) =>
      text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => member(values, s, flag)),
  };
}

function member<V extends string>(values: readonly V[], text: string, flag: string): V {
  if ((values as readonly string[]).includes(text)) return text as V;
  const hint = didYouMean(text, values);
  throw new UsageError(
    `${flag} ${quote(text)} is not one of ${values.join(", ")}${
      hint ? ` (did you mean ${quote(hint)}?)` : ""
    }`,
  );
}

type Also<O> = O extends { also: readonly (infer W)[] } ? W : never;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const TIME = "an ISO 8601 time such as 2025-01-06T09:00:00Z, or epoch milliseconds";

/**
 * An instant, as epoch milliseconds: ISO 8601 text (a date, or a date and time; without an
 * offset, local time) or epoch milliseconds. `also` names words accepted as they are
 * (`--from earliest`).
 */
export function time<
  const O extends Options<number> & { also?: readonly string[] } = Record<never, never>,
>(arg: string, help: string, options?: O): Flag<number | Also<O>, GivenBy<O>> {
  const also = options?.also ?? [];
  const accepts = also.length ? `${also.join(", ")}, or ${TIME}` : TIME;
  return {
    kind: "time",
    arg,
    help,
    accepts,
    ...options,
    parse(text, flag) {
      if (also.includes(text)) return text;
      const ms = /^\d+$/.test(text)
        ? Number(text)
        : ISO_8601.test(text)
        ? Date.parse(text.replace(" ", "T"))
        : NaN;
      if (Number.isNaN(ms)) throw new UsageError(`${flag} ${quote(text)} is not ${accepts}`);
      return ms;
    },
  };
}
