/**
 * Loads one YAML config file while keeping source positions, so every later problem (syntax,
 * environment interpolation, schema) can be reported as `file:line:column`.
 *
 * @module
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit } from "yaml";
import type { Alias, Document, Node, Scalar } from "yaml";
import { yamlPath } from "./_errors.ts";

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

/** Parses `text`, interpolates `${VAR}` references from `env` and collects every problem found. */
export function loadYaml(file: string, text: string, env: Lookup): LoadedYaml {
  const lineCounter = new LineCounter();
  // prettyErrors: false keeps messages short (no code excerpt); positions come from lineCounter.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const errors: SpecError[] = [...doc.errors, ...doc.warnings].map((e) => {
    // The parser may point at the indentation before a bad key; point at the key itself.
    let offset = e.pos[0];
    while (text[offset] === " " || text[offset] === "\t") offset++;
    if (e.code !== "DUPLICATE_KEY") {
      // The parser catches its own stack overflow on deep nesting; say what it means.
      const message = /call stack/i.test(e.message)
        ? `the document is nested too deeply (${e.message})`
        : e.message;
      return { file, ...at(offset), path: "", message };
    }
    const dup = keyAt(doc, e.pos[0]);
    return {
      file,
      ...at(offset),
      path: yamlPath(dup.path),
      message: `duplicate key ${JSON.stringify(dup.key)}`,
    };
  });
  const parsed = doc.errors.length === 0;

  // Interpolate on the scalar nodes themselves so each node keeps its range (and so its position).
  const interpolated = new WeakSet<Scalar>();
  walkScalars(doc.contents, [], (node, path) => {
    if (typeof node.value !== "string" || !node.value.includes("$")) return;
    const { value, problems, references } = interpolate(node.value, env);
    node.value = value;
    if (references) interpolated.add(node);
    const pos = at(node.range?.[0] ?? 0);
    for (const message of problems) errors.push({ file, ...pos, path: yamlPath(path), message });
  });
  // Where values came from the environment, also through aliases (`password: *kafka_password`).
  const fromEnv = new Set<string>();
  const mark = (node: Scalar, path: PropertyKey[]) => {
    if (interpolated.has(node)) fromEnv.add(yamlPath(path));
  };
  walkScalars(doc.contents, [], mark);
  walkAliases(doc.contents, [], (alias, path) => {
    const target = alias.resolve(doc);
    walkScalars(target, path, mark);
    if (target !== undefined) return;
    const pos = at(alias.range?.[0] ?? 0);
    errors.push({
      file,
      ...pos,
      path: yamlPath(path),
      message: `unknown alias "*${alias.source}"`,
    });
  });

  let value: unknown = undefined;
  if (parsed) {
    try {
      value = doc.toJS();
    } catch (e) {
      // toJS throws on unresolved or exponentially expanding aliases; both are user errors.
      if (!errors.some((err) => err.message.startsWith("unknown alias"))) {
        errors.push({ file, line: 1, column: 1, path: "", message: (e as Error).message });
      }
    }
  }

  const locate = (path: readonly PropertyKey[]): Position => {
    const { node, key } = find(doc, path);
    // An empty value (`key:`) sits at the line end and a block collection starts on the next
    // line, at its first item; in both cases the key is where the reader looks.
    const empty = isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1];
    const block = (isMap(node) || isSeq(node)) && !node.flow;
    const target = key && (empty || block) ? key : node;
    return at(target?.range?.[0] ?? 0);
  };
  const locateKey = (path: readonly PropertyKey[]): Position => {
    const { key, depth } = find(doc, path);
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

type Visit<T> = (node: T, path: PropertyKey[]) => void;

/** Visits every value scalar (not mapping keys: interpolating keys would hide typos). */
function walkScalars(node: unknown, path: PropertyKey[], visit: Visit<Scalar>): void {
  if (isScalar(node)) visit(node, path);
  else if (isMap(node)) {
    for (const pair of node.items) walkScalars(pair.value, [...path, keyOf(pair.key)], visit);
  } else if (isSeq(node)) node.items.forEach((item, i) => walkScalars(item, [...path, i], visit));
}

function walkAliases(node: unknown, path: PropertyKey[], visit: Visit<Alias>): void {
  if (isAlias(node)) visit(node, path);
  else if (isMap(node)) {
    for (const pair of node.items) walkAliases(pair.value, [...path, keyOf(pair.key)], visit);
  } else if (isSeq(node)) node.items.forEach((item, i) => walkAliases(item, [...path, i], visit));
}

/** The text of the mapping key that starts at `offset` (the error only carries its position). */
/** The key starting at `offset` and the YAML path of its mapping entry. */
function keyAt(doc: Document, offset: number): { key: string; path: PropertyKey[] } {
  let found = { key: "", path: [] as PropertyKey[] };
  visit(doc, {
    Pair(_, pair, ancestors) {
      if (!isScalar(pair.key) || pair.key.range?.[0] !== offset) return;
      const path: PropertyKey[] = [];
      const chain = [...ancestors, pair];
      for (let i = 0; i < chain.length; i++) {
        const node = chain[i];
        if (isPair(node)) path.push(keyOf(node.key));
        else if (isSeq(node) && i + 1 < chain.length) {
          path.push(node.items.indexOf(chain[i + 1] as never));
        }
      }
      found = { key: keyOf(pair.key), path };
      return visit.BREAK;
    },
  });
  return found;
}

function keyOf(key: unknown): string {
  return String(isScalar(key) ? key.value : key);
}

/**
 * Follows `path` from the document root through mappings, sequences and aliases. Returns the
 * deepest node reached, its key node (null for the root and sequence items) and how many path
 * segments matched.
 */
function find(doc: Document, path: readonly PropertyKey[]) {
  let node: Node | null = doc.contents;
  let key: Node | null = null;
  let depth = 0;
  for (const seg of path) {
    const here: unknown = isAlias(node) ? node.resolve(doc) : node;
    let next: unknown = undefined;
    let nextKey: Node | null = null;
    if (isMap(here)) {
      const pair = here.items.find((p) => isPair(p) && keyOf(p.key) === String(seg));
      nextKey = isScalar(pair?.key) ? pair.key : null;
      next = pair?.value ?? nextKey;
    } else if (isSeq(here) && typeof seg === "number") next = here.items[seg];
    if (!next || !(next as Node).range) break;
    [node, key] = [next as Node, nextKey];
    depth++;
  }
  return { node, key, depth };
}
