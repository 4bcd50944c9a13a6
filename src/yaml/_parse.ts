/**
 * Loads one YAML config file while keeping source positions, so every later problem (syntax,
 * environment interpolation, schema) can be reported as `file:line:column`.
 *
 * @module
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { Alias, Node, Pair, Scalar, YAMLMap } from "yaml";
import { yamlPath } from "./_validate.ts";
import { duplicateKeys, keyOf, type NodeProblem, resolveAliases } from "./_nodes.ts";

/** One positioned problem in a config file. `path` is the YAML path ("" for the document). */
export interface SpecError {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

/** A parsed YAML file plus the means to map a value path back to a source position. */
export interface LoadedYaml {
  file: string;
  /** Plain JS value after ${VAR} interpolation (undefined when the YAML did not parse). */
  value: unknown;
  errors: SpecError[];
  /** YAML paths (as `yamlPath()` spells them) of the values that took an environment variable. */
  fromEnv: Set<string>;
  /** Position of the node at a YAML path (keys and array indexes); falls back to the nearest existing ancestor. */
  locate(path: readonly PropertyKey[]): { line: number; column: number };
  /** Position of the KEY node of a mapping entry at path (for unknown-key errors); falls back to locate(). */
  locateKey(path: readonly PropertyKey[]): { line: number; column: number };
}

type Position = { line: number; column: number };
type Lookup = (name: string) => string | undefined;

/**
 * Parser messages that end by quoting the file's text (a whole multi-line scalar, say): the
 * position says where, and a file that is no YAML at all (a key, a `.env`) must not be printed.
 */
const QUOTES_TEXT =
  /^(Unexpected \S+ token in YAML stream|Not a YAML token|Block scalar header includes extra characters|Unresolved tag|Could not resolve tag|Not a valid tag): .*$/s;

const interpolationErrors = new WeakSet<SpecError>();

/** True for an error about a `${...}` reference (it quotes text of the file). */
export function fromInterpolation(error: SpecError): boolean {
  return interpolationErrors.has(error);
}

/** Parses `text`, interpolates `${VAR}` references from `env` and collects every problem found. */
export function loadYaml(file: string, text: string, env: Lookup): LoadedYaml {
  const lineCounter = new LineCounter();
  // prettyErrors: false keeps messages short (no code excerpt); positions come from lineCounter.
  // Duplicate keys are found by duplicateKeys(): the parser's own check is quadratic.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const errors: SpecError[] = [...doc.errors, ...doc.warnings].map((e) => {
    // The parser may point at the indentation before a bad key; point at the key itself.
    let offset = e.pos[0];
    while (text[offset] === " " || text[offset] === "\t") offset++;
    // The parser catches its own stack overflow on deep nesting; say what it means.
    const message = /call stack/i.test(e.message)
      ? `the document is nested too deeply (${e.message})`
      : e.message.replace(QUOTES_TEXT, "$1");
    return { file, ...at(offset), path: "", message };
  });
  const problem = ({ node, path, message }: NodeProblem): SpecError => ({
    file,
    ...at(node.range?.[0] ?? 0),
    path: yamlPath(path),
    message,
  });
  const duplicates = duplicateKeys(doc.contents).map(problem);
  errors.push(...duplicates);
  const parsed = doc.errors.length === 0 && duplicates.length === 0;

  // Interpolate on the scalar nodes themselves so each node keeps its range (and so its position).
  const interpolated = new WeakSet<Scalar>();
  walkScalars(doc.contents, [], () => undefined, (node, path) => {
    if (typeof node.value !== "string" || !node.value.includes("$")) return;
    const { value, problems, references } = interpolate(node.value, env);
    node.value = value;
    if (references) interpolated.add(node);
    const pos = at(node.range?.[0] ?? 0);
    for (const message of problems) {
      const error = { file, ...pos, path: yamlPath(path), message };
      interpolationErrors.add(error);
      errors.push(error);
    }
  });
  // Aliases resolved once (unknown, recursive and exploding ones are errors at the alias).
  const aliases = resolveAliases(doc);
  errors.push(...aliases.problems.map(problem));
  const resolve = (node: unknown) => isAlias(node) ? aliases.targets.get(node) : node;
  // Where values came from the environment, also through aliases (`password: *kafka_password`).
  const fromEnv = new Set<string>();
  if (aliases.problems.length === 0) {
    walkScalars(doc.contents, [], resolve, (node, path) => {
      if (interpolated.has(node)) fromEnv.add(yamlPath(path));
    });
  }

  let value: unknown = undefined;
  if (parsed && aliases.problems.length === 0) {
    try {
      // The aliases were checked above; the parser's own count (maxAliasCount) is quadratic.
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (e) {
      errors.push({ file, line: 1, column: 1, path: "", message: (e as Error).message });
    }
  }

  const locate = (path: readonly PropertyKey[]): Position => {
    const { node, key } = find(doc.contents, path, resolve);
    // An empty value (`key:`) sits at the line end and a block collection starts on the next
    // line, at its first item; in both cases the key is where the reader looks.
    const empty = isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
    const block = (isMap(node) || isSeq(node)) && !node.flow;
    const target = key && (empty || block) ? key : node;
    return at(target?.range?.[0] ?? 0);
  };
  const locateKey = (path: readonly PropertyKey[]): Position => {
    const { key, depth } = find(doc.contents, path, resolve);
    return key && depth === path.length ? at(key.range?.[0] ?? 0) : locate(path);
  };
  return { file, value, errors, fromEnv, locate, locateKey };
}

// `$${...}` is an escape; a valid reference is `${NAME}` or `${NAME:-default}`; anything else
// between `${` and `}` is reported rather than silently kept.
const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const VALID = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** Replaces every reference in `raw`; `:-` falls back when the variable is unset or empty, as in sh. */
function interpolate(raw: string, env: Lookup) {
  const problems: string[] = [];
  let references = 0;
  const value = raw.replace(REFERENCE, (match, inner: string | undefined) => {
    if (inner === undefined) return "${";
    const ref = VALID.exec(inner);
    if (!ref) {
      problems.push(`invalid environment variable reference "${match}"`);
      return match;
    }
    const [, name, fallback] = ref;
    references++;
    const set = env(name);
    if (fallback !== undefined) return set ? set : fallback;
    if (set !== undefined) return set;
    problems.push(
      `environment variable "${name}" is not set (use \${${name}:-default} for a default)`,
    );
    return "";
  });
  return { value, problems, references };
}

/**
 * Visits every value scalar (not mapping keys: interpolating keys would hide typos), following
 * aliases through `resolve` (it returns undefined to leave them out).
 */
function walkScalars(
  node: unknown,
  path: PropertyKey[],
  resolve: (alias: Alias) => unknown,
  visit: (node: Scalar, path: PropertyKey[]) => void,
): void {
  if (isAlias(node)) node = resolve(node);
  if (isScalar(node)) visit(node, path);
  else if (isMap(node)) {
    for (const pair of node.items) {
      walkScalars(pair.value, [...path, keyOf(pair.key)], resolve, visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walkScalars(item, [...path, i], resolve, visit));
  }
}

/** Each mapping's entries by key (the first of equal keys), built when first needed. */
const entries = new WeakMap<YAMLMap, Map<string, Pair>>();
function entry(map: YAMLMap, key: string): Pair | undefined {
  let index = entries.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const k = keyOf(pair.key);
      if (isPair(pair) && !index.has(k)) index.set(k, pair);
    }
    entries.set(map, index);
  }
  return index.get(key);
}

/**
 * Follows `path` from the document root through mappings, sequences and aliases. Returns the
 * deepest node reached, its key node (null for the root and sequence items) and how many path
 * segments matched.
 */
function find(root: unknown, path: readonly PropertyKey[], resolve: (n: unknown) => unknown) {
  let node = root as Node | null;
  let key: Node | null = null;
  let depth = 0;
  for (const seg of path) {
    const here = resolve(node);
    let next: unknown = undefined;
    let nextKey: Node | null = null;
    if (isMap(here)) {
      const pair = entry(here, String(seg));
      nextKey = isScalar(pair?.key) ? pair.key : null;
      next = pair?.value ?? nextKey;
    } else if (isSeq(here) && typeof seg === "number") next = here.items[seg];
    if (!next || !(next as Node).range) break;
    [node, key] = [next as Node, nextKey];
    depth++;
  }
  return { node, key, depth };
}
