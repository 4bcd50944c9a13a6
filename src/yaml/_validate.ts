/**
 * Turns zod issues into positioned, human-readable config errors. Works for any zod 4 schema: the
 * only schema knowledge needed (allowed keys for "did you mean") comes from walking `_zod.def`.
 *
 * @module
 */
import { z } from "zod";
import type { LoadedYaml, SpecError } from "./_parse.ts";
import { redact } from "../core/secrets.ts";
import { didYouMean } from "../core/did_you_mean.ts";

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** Validates `loaded.value` against `schema`; returns the parsed value only when nothing is wrong. */
export function validate<S extends z.ZodType>(
  schema: S,
  loaded: LoadedYaml,
): { value?: z.infer<S>; errors: SpecError[] } {
  // A file that did not parse has nothing worth validating; its own errors say why.
  if (loaded.value === undefined && loaded.errors.length > 0) return { errors: [...loaded.errors] };
  // reportInput lets isCustom() recompute zod's default message for comparison.
  const result = schema.safeParse(loaded.value, { reportInput: true });
  const schemaErrors = result.success
    ? []
    : result.error.issues.flatMap((issue) => toErrors(issue, [], schema, loaded));
  // A failed ${VAR} left an empty string behind; schema complaints about it would only be noise.
  const broken = new Set(loaded.errors.map((e) => e.path).filter((p) => p !== ""));
  const errors = dedupe([
    ...loaded.errors,
    ...schemaErrors.filter((e) => !prefixes(e.path).some((p) => broken.has(p))),
  ]).sort((a, b) => a.line - b.line || a.column - b.column); // document order, stable
  return errors.length === 0 && result.success ? { value: result.data, errors } : { errors };
}

/** `a.b[2]` → `a`, `a.b`, `a.b[2]`: the path and every path it lies within. */
function prefixes(path: string): string[] {
  const out = [path];
  for (let i = 1; i < path.length; i++) {
    if (path[i] === "." || path[i] === "[") out.push(path.slice(0, i));
  }
  return out;
}

/** One error per line, `file:line:column  path  message`, sorted by file, line and column. */
export function formatErrors(errors: SpecError[]): string {
  return [...errors]
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column)
    // A value quoted in a message may hold a secret (a URL with a password from the environment).
    .map((e) => `${e.file}:${e.line}:${e.column}  ${e.path || "(root)"}  ${redact(e.message)}`)
    .join("\n");
}

/** `["rules", 2, "id"]` -> `rules[2].id`; keys that are not plain words are bracket-quoted. */
export function yamlPath(path: Path): string {
  return path.map((seg, i) => {
    if (typeof seg === "number") return `[${seg}]`;
    const key = String(seg);
    if (!/^[\w$-]+$/.test(key)) return `[${JSON.stringify(key)}]`;
    return i === 0 ? key : `.${key}`;
  }).join("");
}

// ---- issue -> error ----------------------------------------------------------------------------

/** Maps one zod issue (found at `base` + issue.path) to errors; unions may expand into several. */
function toErrors(issue: Issue, base: Path, schema: z.ZodType, loaded: LoadedYaml): SpecError[] {
  const path = [...base, ...issue.path];
  const at = (p: Path, message: string, pos = loaded.locate(p)): SpecError[] => [
    { file: loaded.file, ...pos, path: yamlPath(p), message },
  ];
  const data = valueAt(loaded.value, path);
  const parent = path.slice(0, -1);
  const holder = valueAt(loaded.value, parent);
  const key = path[path.length - 1];
  const missing = path.length > 0 && isRecord(holder) && !Object.hasOwn(holder, key);
  if (missing && ["invalid_type", "invalid_value", "invalid_union"].includes(issue.code)) {
    // Point at the entry that lacks the key: that is where the user has to add it.
    return at(parent, `missing required key ${q(key)}`, loaded.locateKey(parent));
  }
  if (isCustom(issue)) return at(path, issue.message);
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(schema, path, loaded.value);
      return issue.keys.flatMap((k) => {
        const hint = didYouMean(k, allowed);
        const message = `unknown key ${q(k)}${hint ? ` (did you mean ${q(hint)}?)` : ""}`;
        return at([...path, k], message, loaded.locateKey([...path, k]));
      });
    }
    case "invalid_union": {
      if (issue.inclusive === false) return at(path, `${describe(data)} is ambiguous`);
      // A discriminated union with an unknown tag: zod puts the tag in the path, no branches.
      if (issue.errors.length === 0) return at(path, notOneOf(issue.options ?? [], data));
      // When every option rejects the value itself, name the forms; else explain the closest one.
      const roots = issue.errors.map((branch) => branch.find((i) => i.path.length === 0));
      if (roots.every((i) => i?.code === "invalid_type" || i?.code === "invalid_value")) {
        const forms = roots.map((i) =>
          i?.code === "invalid_type" ? expected(i.expected) : list(i?.values ?? [], " or ")
        );
        return at(path, `expected ${[...new Set(forms)].join(" or ")}, got ${describe(data)}`);
      }
      return closest(issue.errors).flatMap((i) => toErrors(i, path, schema, loaded));
    }
    case "invalid_key": {
      const inner = issue.issues.map((i) => messageFor(i, key)).join("; ");
      return at(path, `invalid key ${q(key)}: ${inner}`, loaded.locateKey(path));
    }
    default:
      return at(path, messageFor(issue, data));
  }
}

const zodDefault = z.locales.en().localeError;

/**
 * True when the schema author wrote the message (`.regex(re, "must be ...")`, `.refine()`,
 * `{ error }`): it differs from what zod's English locale says for the same issue.
 */
function isCustom(issue: Issue): boolean {
  if (issue.code === "custom") return true;
  const fallback = zodDefault(issue as unknown as z.core.$ZodRawIssue);
  return issue.message !== (typeof fallback === "string" ? fallback : fallback?.message);
}

/** The option that got furthest: fewest mismatches of the value or a tag, then fewest issues. */
function closest(branches: Issue[][]): Issue[] {
  const mismatch = (i: Issue) =>
    i.code === "invalid_value" || (i.code === "invalid_type" && i.path.length === 0);
  const score = (b: Issue[]) => b.filter(mismatch).length * 1000 + b.length;
  return branches.reduce((best, b) => score(b) < score(best) ? b : best);
}

/** Message for an issue about the value `data`, without the position. */
function messageFor(issue: Issue, data: unknown): string {
  if (isCustom(issue)) return issue.message;
  switch (issue.code) {
    case "invalid_type":
      if (issue.expected === "nonoptional") return "a value is required";
      return `expected ${expected(issue.expected)}, got ${describe(data)}`;
    case "invalid_value":
      return notOneOf(issue.values, data);
    case "too_small":
    case "too_big":
      return sizeMessage(issue, data);
    case "not_multiple_of":
      return `must be a multiple of ${issue.divisor}, got ${describe(data)}`;
    case "invalid_format":
      return formatMessage(issue as unknown as Record<string, string>, data);
    case "invalid_union":
      return `${describe(data)} does not match any allowed form`;
    default: // custom refinements and anything newer: the author's message is the best we have
      return issue.message;
  }
}

function notOneOf(values: readonly unknown[], data: unknown): string {
  const strings = values.filter((v): v is string => typeof v === "string");
  const hint = typeof data === "string" ? didYouMean(data, strings) : undefined;
  const suffix = hint ? ` (did you mean ${q(hint)}?)` : "";
  if (values.length === 1) return `expected ${literal(values[0])}, got ${describe(data)}${suffix}`;
  return `${describe(data)} is not one of ${list(values, ", ")}${suffix}`;
}

type SizeIssue = z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig;
function sizeMessage(issue: SizeIssue, data: unknown): string {
  const small = issue.code === "too_small";
  const n = small ? issue.minimum : issue.maximum;
  const sized = ["string", "array", "set"].includes(issue.origin);
  if (sized && small && n === 1 && !issue.exact) return "must not be empty";
  const strict = issue.inclusive === false;
  const bound = issue.exact
    ? "exactly"
    : small
    ? (strict ? "more than" : "at least")
    : (strict ? "less than" : "at most");
  const got = `, got ${Array.isArray(data) ? data.length : describe(data)}`;
  if (issue.origin === "string") return `must be ${bound} ${plural(n, "character")} long${got}`;
  if (sized) return `must have ${bound} ${plural(n, "item")}${got}`;
  return `must be ${bound} ${n}${got}`;
}

function formatMessage(issue: Record<string, string>, data: unknown): string {
  const rules: Record<string, string> = {
    regex: `must match the pattern ${issue.pattern}`,
    starts_with: `must start with ${q(issue.prefix)}`,
    ends_with: `must end with ${q(issue.suffix)}`,
    includes: `must contain ${q(issue.includes)}`,
    lowercase: "must be lowercase",
    uppercase: "must be uppercase",
  };
  const rule = rules[issue.format] ??
    `expected ${FORMATS[issue.format] ?? `a valid ${issue.format}`}`;
  return `${rule}, got ${describe(data)}`;
}

// Words for zod's format and type names; anything not listed is spelled the way zod names it.
// deno-fmt-ignore
const FORMATS: Record<string, string> = {
  email: "an email address", url: "a URL", uuid: "a UUID", guid: "a GUID", hostname: "a hostname",
  datetime: "an ISO 8601 date-time", date: "an ISO 8601 date (YYYY-MM-DD)",
  time: "an ISO 8601 time", duration: "an ISO 8601 duration",
  ipv4: "an IPv4 address", ipv6: "an IPv6 address",
};
// deno-fmt-ignore
const EXPECTED: Record<string, string> = {
  int: "an integer", bigint: "an integer", boolean: "true or false", null: "an empty value",
  object: "a mapping", record: "a mapping", map: "a mapping",
  array: "a list", tuple: "a list", set: "a list",
  undefined: "nothing", never: "nothing", void: "nothing",
};
const expected = (name: string) => EXPECTED[name] ?? `a ${name}`;

/** How a YAML user would name the value they wrote. */
function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") {
    const text = redact(v); // before shortening: a cut secret would no longer be recognised
    return q(text.length > 60 ? `${text.slice(0, 57)}...` : text);
  }
  return String(v);
}

const q = (v: unknown) => JSON.stringify(String(v));
const literal = (v: unknown) => typeof v === "string" ? q(v) : String(v);
const list = (vs: readonly unknown[], sep: string) => vs.map(literal).join(sep);
const plural = (n: number | bigint, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
const isRecord = (v: unknown): v is Record<PropertyKey, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    v = typeof v === "object" && v ? (v as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  return v;
}

function dedupe(errors: SpecError[]): SpecError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const id = JSON.stringify([e.file, e.line, e.column, e.path, e.message]);
    return seen.has(id) ? false : (seen.add(id), true);
  });
}

// ---- schema walking (for allowed keys) ---------------------------------------------------------

/** The parts of zod 4's `_zod.def` used here; fields are optional because each type has its own. */
interface Def {
  type: string;
  innerType?: Schema; // optional, nullable, default, catch, readonly, ...
  in?: Schema; // pipe (also what .transform() and z.preprocess() build)
  out?: Schema;
  getter?: () => Schema; // lazy
  shape?: Record<string, Schema>; // object
  catchall?: Schema;
  element?: Schema; // array
  valueType?: Schema; // record
  options?: Schema[]; // union, discriminated union
  left?: Schema; // intersection
  right?: Schema;
  items?: Schema[]; // tuple
  rest?: Schema | null;
  values?: unknown[]; // literal
}
type Schema = { _zod: { def: Def } };
const def = (s: unknown) => (s as Schema)._zod.def;
const WRAPPERS = new Set(
  "optional nullable default prefault catch readonly nonoptional promise success".split(" "),
);

/** Concrete schemas `s` can stand for, given the data: wrappers peeled, unions narrowed. */
function expand(s: Schema, data: unknown): Schema[] {
  const d = def(s);
  if (WRAPPERS.has(d.type) && d.innerType) return expand(d.innerType, data);
  if (d.type === "lazy" && d.getter) return expand(d.getter(), data);
  // z.preprocess(fn, s) is pipe(transform, s); s.transform(fn) is pipe(s, transform).
  if (d.type === "pipe" && d.in && d.out) {
    return expand(def(d.in).type === "transform" ? d.out : d.in, data);
  }
  if (d.type === "intersection" && d.left && d.right) {
    return [...expand(d.left, data), ...expand(d.right, data)];
  }
  if (d.type !== "union" || !d.options) return [s];
  const all = d.options.flatMap((o) => expand(o, data));
  // Keep the options whose literal fields (e.g. `type: file`) agree with the data: that picks the
  // option of a discriminated union, and also narrows plain unions of tagged objects.
  const agree = all.filter((o) => literalsMatch(o, data));
  return agree.length > 0 ? agree : all;
}

function literalsMatch(s: Schema, data: unknown): boolean {
  const shape = def(s).shape;
  if (!shape || !isRecord(data)) return true;
  return Object.entries(shape).every(([k, field]) => {
    const lit = expand(field, undefined).map(def).find((d) => d.type === "literal");
    return !lit?.values || !Object.hasOwn(data, k) || lit.values.includes(data[k]);
  });
}

function child(s: Schema, seg: PropertyKey): Schema | undefined {
  const d = def(s);
  if (d.type === "object") return d.shape?.[String(seg)] ?? d.catchall;
  if (d.type === "record") return d.valueType;
  if (d.type === "array") return d.element;
  if (d.type === "tuple") return d.items?.[Number(seg)] ?? d.rest ?? undefined;
  return undefined;
}

/** Keys accepted by the object schemas that apply at `path`, following the data through unions. */
function allowedKeys(root: z.ZodType, path: Path, data: unknown): string[] {
  let schemas = [root as unknown as Schema];
  for (let i = 0; i <= path.length; i++) {
    schemas = schemas.flatMap((s) => expand(s, valueAt(data, path.slice(0, i))));
    if (i < path.length) schemas = schemas.flatMap((s) => child(s, path[i]) ?? []);
  }
  return [...new Set(schemas.flatMap((s) => Object.keys(def(s).shape ?? {})))];
}
