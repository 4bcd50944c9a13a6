/**
 * Random mutations of YAML config text for the config fuzz test: text-level damage (truncation,
 * stray bytes, broken indentation, duplicated or swapped lines, huge or deeply nested values) and
 * structural edits through the YAML document (deleted keys, retyped or swapped values, renamed
 * entities and fields). Deterministic for a seed.
 * @module
 */
import { isMap, isScalar, isSeq, parseDocument } from "yaml";
import { mulberry32, type Rng } from "../../bench/_corpus_model.ts";

/** The corpus generator's PRNG: the same seed gives the same cases. */
export const prng = mulberry32;
export type { Rng };
const int = (rng: Rng, n: number) => Math.floor(rng() * n);
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)];

/** Characters that mean something to YAML, to a terminal or to Unicode, and plain noise. */
const NOISE = [
  "\t",
  "\u0000",
  "\u0007",
  "\u001b[31m",
  "\r",
  "\n",
  " ",
  ":",
  ": ",
  "- ",
  "{",
  "}",
  "[",
  "]",
  ",",
  "&a ",
  "*a",
  "!!str ",
  "!custom ",
  "|",
  ">",
  "%YAML 1.2",
  "@",
  "`",
  "'",
  '"',
  "#",
  "?",
  "\ufeff",
  "é",
  "😀",
  "\u202e",
  "\u00a0",
  "\u2028",
  "---",
  "...",
  "${",
  "}}",
  "x",
  "0",
];

/** Values a key may be set to: every YAML type, edge numbers, prototype names, env references. */
const VALUES: unknown[] = [
  null,
  "",
  " ",
  0,
  -1,
  1.5,
  1e309,
  Number.MAX_SAFE_INTEGER + 2,
  true,
  false,
  [],
  {},
  [null],
  { a: 1 },
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "${UNSET_VARIABLE}",
  "${BROKEN",
  "${1BAD}",
  "$${ESCAPED}",
  "'}) DETACH DELETE n //",
  "Robert'); DROP TABLE versions;--",
  "../../etc/passwd",
  "rules/*.yaml",
  "rules",
  "/",
  "*",
  "Task",
  "HAS_TASK",
  "node_id",
  "metadata.dde_node_id",
  "dde",
  "😀",
  "\u0000",
];

/** Words a referenced name may be renamed to: typos are made from the original. */
const RENAMES = [
  "constructor",
  "__proto__",
  "toString",
  "valueOf",
  "Entity",
  "NodeVersion",
  "CORRELATES",
  "VERSION_OF",
  "id",
  "key",
  "valid_from",
  "x",
  "",
  "Task",
  "Module",
  "node_id",
  "metadata.x",
  "metadata.Bad-Key",
  "a b",
  "Ta`sk",
  "X}) DETACH DELETE n //",
];

/** Values for the places that name something else, by the key that names it. */
const NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "", "x", "services"];
const REFERENCES: Record<string, unknown[]> = {
  schema: [
    "schemas",
    "/dev/zero",
    "/dev/null",
    "pipeline.yaml",
    "missing.avsc",
    "../../etc/passwd",
  ],
  rules: ["rules", "rules/", "/", "*", "rules/*", "/dev/zero", "../*", "pipeline.yaml", "*.yaml"],
  stream: [...NAMES, "bdv", "Task"],
  entity: [...NAMES, "Entity", "NodeVersion", "task", "Module"],
  field: [...NAMES, "node_id", "metadata.__proto__", "metadata.constructor", "valid_from"],
  default_target: [...NAMES, "local"],
  type: [...NAMES, "CORRELATES", "VERSION_OF", "has_task", "file", "kafka"],
  key: [...NAMES, "metadata.Bad-Key", "metadata.x", "event_type", "timestamp", "iteration_id"],
  path: [...NAMES, "/dev/zero", "../x.db", "/"],
};

export interface Mutated {
  /** The mutated file content (bytes: some mutations leave invalid UTF-8). */
  bytes: Uint8Array;
  /** What was done, for the failure message. */
  steps: string[];
}

type Mutation = (text: string, rng: Rng) => { text: string; step: string } | {
  bytes: Uint8Array;
  step: string;
};

const lines = (text: string) => text.split("\n");

const MUTATIONS: Record<string, Mutation> = {
  truncate(text, rng) {
    const at = int(rng, text.length);
    return { text: text.slice(0, at), step: `truncate at ${at}` };
  },
  truncateBytes(text, rng) {
    const bytes = new TextEncoder().encode(text);
    const at = int(rng, bytes.length);
    return { bytes: bytes.slice(0, at), step: `truncate at byte ${at}` };
  },
  insertNoise(text, rng) {
    const at = int(rng, text.length + 1);
    const noise = Array.from({ length: 1 + int(rng, 4) }, () => pick(rng, NOISE)).join("");
    return {
      text: text.slice(0, at) + noise + text.slice(at),
      step: `insert ${JSON.stringify(noise)} at ${at}`,
    };
  },
  invalidUtf8(text, rng) {
    const bytes = new TextEncoder().encode(text);
    const at = int(rng, bytes.length + 1);
    const bad = pick(rng, [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82]]);
    const out = new Uint8Array([...bytes.slice(0, at), ...bad, ...bytes.slice(at)]);
    return { bytes: out, step: `insert bytes ${bad} at ${at}` };
  },
  deleteLine(text, rng) {
    const ls = lines(text);
    const i = int(rng, ls.length);
    ls.splice(i, 1);
    return { text: ls.join("\n"), step: `delete line ${i + 1}` };
  },
  duplicateLine(text, rng) {
    const ls = lines(text);
    const i = int(rng, ls.length);
    ls.splice(i, 0, ls[i]);
    return { text: ls.join("\n"), step: `duplicate line ${i + 1}` };
  },
  swapLines(text, rng) {
    const ls = lines(text);
    const [i, j] = [int(rng, ls.length), int(rng, ls.length)];
    [ls[i], ls[j]] = [ls[j], ls[i]];
    return { text: ls.join("\n"), step: `swap lines ${i + 1} and ${j + 1}` };
  },
  indent(text, rng) {
    const ls = lines(text);
    const i = int(rng, ls.length);
    const how = pick(rng, ["add", "remove", "tab"]);
    ls[i] = how === "add"
      ? " ".repeat(1 + int(rng, 4)) + ls[i]
      : how === "tab"
      ? "\t" + ls[i]
      : ls[i].replace(/^ {1,4}/, "");
    return { text: ls.join("\n"), step: `${how} indentation of line ${i + 1}` };
  },
  hugeValue(text, rng) {
    const ls = lines(text);
    const candidates = ls.flatMap((l, i) => /:\s+\S/.test(l) ? [i] : []);
    if (!candidates.length) return { text, step: "no value to enlarge" };
    const i = pick(rng, candidates);
    const huge = pick(rng, ["x".repeat(100_000), "9".repeat(5_000), "é".repeat(20_000)]);
    ls[i] = ls[i].replace(/(:\s+).*$/, `$1${huge}`);
    return { text: ls.join("\n"), step: `huge value (${huge.length}) on line ${i + 1}` };
  },
  deepNesting(text, rng) {
    const ls = lines(text);
    const candidates = ls.flatMap((l, i) => /:\s+\S/.test(l) ? [i] : []);
    if (!candidates.length) return { text, step: "no value to nest" };
    const i = pick(rng, candidates);
    const depth = pick(rng, [50, 500, 2000]);
    const deep = pick(rng, [
      "[".repeat(depth) + "]".repeat(depth),
      "{a: ".repeat(depth) + "1" + "}".repeat(depth),
    ]);
    ls[i] = ls[i].replace(/(:\s+).*$/, `$1${deep}`);
    return { text: ls.join("\n"), step: `nesting of depth ${depth} on line ${i + 1}` };
  },
  blockNesting(text, rng) {
    const depth = pick(rng, [100, 500]);
    const block = Array.from({ length: depth }, (_, d) => `${"  ".repeat(d)}k${d}:`).join("\n");
    return {
      text: `${text}\nnested:\n${block.replace(/^/gm, "  ")} 1\n`,
      step: `block nesting ${depth}`,
    };
  },
  aliasBomb(text) {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
    for (const [p, c] of [["a", "b"], ["b", "c"], ["c", "d"], ["d", "e"], ["e", "f"], ["f", "g"]]) {
      bomb.push(`${c}: &${c} [*${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}, *${p}]`);
    }
    return {
      text: `${text}\nbomb:\n${bomb.map((l) => `  ${l}`).join("\n")}\n`,
      step: "alias bomb",
    };
  },
  renameWord(text, rng) {
    const words = [...new Set(text.match(/\b[A-Za-z_][A-Za-z0-9_.]*\b/g) ?? [])];
    if (!words.length) return { text, step: "no word" };
    const word = pick(rng, words);
    const to = pick(rng, [
      ...RENAMES,
      word.slice(0, -1),
      word + "s",
      word.toLowerCase(),
      word.toUpperCase(),
    ]);
    const all = rng() < 0.5;
    const re = new RegExp(`\\b${word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, all ? "g" : "");
    return {
      text: text.replace(re, to),
      step: `rename ${all ? "every" : "one"} "${word}" to ${JSON.stringify(to)}`,
    };
  },
  // Structural edits through the YAML document (valid YAML, invalid or surprising specs).
  deleteKey(text, rng) {
    return structural(text, rng, "delete", (doc, path) => doc.deleteIn(path));
  },
  retype(text, rng) {
    const value = pick(rng, VALUES);
    return structural(text, rng, `set to ${JSON.stringify(value)}`, (doc, path) => {
      doc.setIn(path, doc.createNode(value));
    }, true);
  },
  reference(text, rng) {
    const doc = parseDocument(text);
    if (doc.errors.length) return { text, step: "reference: skipped (text is not YAML)" };
    // By kind first (a spec has one default_target and dozens of fields), then the place.
    const kinds = new Map<string, (string | number)[][]>();
    for (const p of nodePaths(doc, true)) {
      const last = p.at(-1);
      const kind = typeof last === "number" ? String(p.at(-2)) : String(last);
      if (kind in REFERENCES) kinds.set(kind, [...(kinds.get(kind) ?? []), p]);
    }
    if (!kinds.size) return { text, step: "no reference" };
    const kind = pick(rng, [...kinds.keys()]);
    const place = pick(rng, kinds.get(kind)!);
    const value = pick(rng, REFERENCES[kind]);
    doc.setIn(place, value);
    return { text: doc.toString(), step: `set ${place.join(".")} to ${JSON.stringify(value)}` };
  },
  crossReference(text, rng) {
    // A value from elsewhere in the file: a stream where an entity belongs, a label where a field
    // belongs, a target name, a rule glob...
    const doc = parseDocument(text);
    if (doc.errors.length) return { text, step: "cross reference: skipped (text is not YAML)" };
    const leaves = nodePaths(doc, true);
    if (leaves.length < 2) return { text, step: "nothing to cross-reference" };
    const [to, from] = [pick(rng, leaves), pick(rng, leaves)];
    const value = doc.getIn(from);
    doc.setIn(to, value);
    return { text: doc.toString(), step: `set ${to.join(".")} to ${JSON.stringify(value)}` };
  },
  swapValues(text, rng) {
    const doc = parseDocument(text);
    if (doc.errors.length) return { text, step: "swap: skipped (text is not YAML)" };
    const paths = nodePaths(doc);
    if (paths.length < 2) return { text, step: "nothing to swap" };
    const [a, b] = [pick(rng, paths), pick(rng, paths)];
    if (a.join(".").startsWith(b.join(".")) || b.join(".").startsWith(a.join("."))) {
      return { text, step: "swap of nested nodes skipped" };
    }
    const va = doc.getIn(a, true);
    const vb = doc.getIn(b, true);
    doc.setIn(a, vb);
    doc.setIn(b, va);
    return { text: doc.toString(), step: `swap ${a.join(".")} and ${b.join(".")}` };
  },
  addKey(text, rng) {
    return structural(text, rng, "add an unknown key", (doc, path) => {
      const node = doc.getIn(path, true);
      if (isMap(node)) node.set(pick(rng, ["sorce", "extra", "__proto__", "constructor"]), 1);
    });
  },
};

type Doc = ReturnType<typeof parseDocument>;

/** Every path to a value (only scalar ones: `leaves`) in a document's mappings and sequences. */
function nodePaths(doc: Doc, leaves = false): (string | number)[][] {
  const paths: (string | number)[][] = [];
  const walk = (node: unknown, path: (string | number)[]) => {
    if (path.length && (!leaves || isScalar(node))) paths.push(path);
    if (isMap(node)) {
      for (const pair of node.items) {
        walk(pair.value, [...path, String(isScalar(pair.key) ? pair.key.value : pair.key)]);
      }
    } else if (isSeq(node)) node.items.forEach((item, i) => walk(item, [...path, i]));
  };
  walk(doc.contents, []);
  return paths;
}

function structural(
  text: string,
  rng: Rng,
  what: string,
  edit: (doc: Doc, path: (string | number)[]) => void,
  preferLeaves = false,
) {
  const doc = parseDocument(text);
  if (doc.errors.length) return { text, step: `${what}: skipped (text is not YAML)` };
  const paths = nodePaths(doc, preferLeaves && rng() < 0.7);
  if (!paths.length) return { text, step: `${what}: nothing` };
  const path = pick(rng, paths);
  edit(doc, path);
  return { text: doc.toString(), step: `${what} ${path.join(".")}` };
}

/** How often each mutation is drawn: references and structure matter more than noise. */
const WEIGHTS: Record<string, number> = {
  reference: 6,
  retype: 3,
  crossReference: 2,
  renameWord: 2,
};

/** 1 to 3 random mutations of `text`. */
export function mutate(text: string, rng: Rng): Mutated {
  const names = Object.keys(MUTATIONS).flatMap((n) => Array(WEIGHTS[n] ?? 1).fill(n));
  const steps: string[] = [];
  let bytes: Uint8Array | undefined;
  let current = text;
  for (let k = 1 + int(rng, 3); k > 0; k--) {
    const name = pick(rng, names);
    // Once the bytes are not UTF-8 text, later mutations would have to decode them; stop there.
    let out: ReturnType<Mutation>;
    try {
      out = MUTATIONS[name](current, rng);
    } catch (error) {
      // The YAML library refuses to write some edited documents (an alias moved before its anchor).
      out = { text: current, step: `skipped: ${(error as Error).message}` };
    }
    steps.push(`${name}: ${out.step}`);
    if ("bytes" in out) {
      bytes = out.bytes;
      break;
    }
    current = out.text;
  }
  return { bytes: bytes ?? new TextEncoder().encode(current), steps };
}
