/**
 * Shared helpers of the rule kinds: value normalisation, module-identity parsing and the similarity
 * measures (pure functions), plus the config fragments every rule schema repeats.
 *
 * Similarity is deliberately token based, not character based: `user_service` vs `user_services` is a
 * different module, and an edit distance would score it 0.92. On word tokens it scores 0.5, which is
 * what the shipped policy needs: near misses must score clearly lower than true matches.
 * @module
 */
import { z } from "zod";
import { LABEL, PROPERTY } from "../core/identifiers.ts";
import { normalizePath } from "../core/paths.ts";

export { normalizePath };

/** A property value as comparable text: trimmed strings, numbers and booleans; otherwise undefined. */
export function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim() || undefined;
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    return String(value);
  }
  return undefined;
}

/**
 * Word tokens of an identifier or phrase, lowercased: split on anything but letters and digits
 * (`_`, `-`, `.`, spaces) and on camelCase boundaries (`UserAPIClient` → user, api, client).
 */
export function wordTokens(text: string): string[] {
  // The same names are tokenised again whenever an entity is re-correlated: memoise (bounded).
  let tokens = tokenCache.get(text);
  if (!tokens) {
    if (tokenCache.size >= 50_000) tokenCache.clear();
    tokenCache.set(text, tokens = tokenize(text));
  }
  return tokens;
}

const tokenCache = new Map<string, string[]>();

function tokenize(text: string): string[] {
  return text
    .replace(/(\p{Ll}|\p{N})(\p{Lu})/gu, "$1 $2")
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, "$1 $2")
    .split(/[^\p{L}\p{N}]+/u)
    .filter((t) => t !== "")
    .map((t) => t.toLowerCase());
}

/** Dice coefficient of two token multisets, in [0,1]; 0 when either is empty (no evidence). */
export function dice(a: readonly string[], b: readonly string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const t of a) counts.set(t, (counts.get(t) ?? 0) + 1);
  let common = 0;
  for (const t of b) {
    const n = counts.get(t) ?? 0;
    if (n > 0) {
      common++;
      counts.set(t, n - 1);
    }
  }
  return (2 * common) / (a.length + b.length);
}

/** A module identity: normalised segments (word tokens joined by `_`), its stem and its folders. */
export interface ModuleId {
  segments: string[];
  /** Last segment, e.g. `user_service`. */
  stem: string;
  /** Word tokens of the stem. */
  words: string[];
  /** The segments before the stem, outermost first. */
  dirs: string[];
}

export interface ParseOptions {
  /** Leading root folders that carry no meaning (`src`, `features`). */
  ignoreDirs: readonly string[];
  /** Drop the file extension; when false it stays part of the stem (`user_service.py`). */
  ignoreExtensions: boolean;
}

// Suffixes that make a dot-separated value a file name rather than a dotted module name.
const FILE_EXTENSION =
  /\.(py|pyi|ts|tsx|mts|cts|js|jsx|mjs|cjs|java|kt|kts|scala|go|rs|rb|cs|fs|c|h|cc|cpp|hpp|swift|php|feature|proto|avsc|sql|sh|json|ya?ml|md)$/i;

/**
 * Parse a file path (`src/api/user_service.py`), a dotted module name (`api.user_service`) or a
 * feature file (`features/user_service.feature`) into one comparable shape. A value is a path when
 * it contains a slash or ends in a known file extension; otherwise it is a dotted name.
 */
export function parseModule(value: string, options: ParseOptions): ModuleId {
  const text = value.trim();
  let raw: string[];
  if (/[/\\]/.test(text) || FILE_EXTENSION.test(text)) {
    raw = normalizePath(text).split("/").filter((s) => s !== "" && s !== ".");
    const last = raw.length - 1;
    if (options.ignoreExtensions && last >= 0) raw[last] = raw[last].replace(/(.)\.[^.]*$/, "$1");
  } else {
    raw = text.split(".").filter((s) => s !== "");
  }
  // A Python package's `__init__` file is the package itself: `api/__init__.py` is module `api`.
  if (raw.length > 1 && /^__init__(\.py)?$/.test(raw[raw.length - 1])) raw.pop();
  const segments = raw.map((s) => wordTokens(s).join("_")).filter((s) => s !== "");
  const ignored = new Set(options.ignoreDirs.map((d) => wordTokens(d).join("_")));
  while (segments.length > 1 && ignored.has(segments[0])) segments.shift();
  const stem = segments.at(-1) ?? "";
  return { segments, stem, words: stem === "" ? [] : stem.split("_"), dirs: segments.slice(0, -1) };
}

/** 1 when the word-token sequences are equal, otherwise their Dice coefficient. */
export function stemSimilarity(a: readonly string[], b: readonly string[]): number {
  if (a.length > 0 && a.length === b.length && a.every((t, i) => t === b[i])) return 1;
  return dice(a, b);
}

/**
 * Agreement of two folder lists aligned from the end (closest to the stem first): the fraction of the
 * shorter list that matches. 1 when either side has no folders: absence is no evidence against.
 */
export function dirAgreement(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 1;
  let same = 0;
  for (let i = 1; i <= n; i++) if (a[a.length - i] === b[b.length - i]) same++;
  return same / n;
}

/** How alike two module identities are: `stem * (0.8 + 0.2 * dirs)`, with both parts. */
export function moduleSimilarity(
  a: ModuleId,
  b: ModuleId,
): { similarity: number; stem: number; dirs: number } {
  const stem = stemSimilarity(a.words, b.words);
  const dirs = dirAgreement(a.dirs, b.dirs);
  // Rounded so that float noise (0.8 + 0.1 = 0.9000000000000001) never decides a threshold.
  return { similarity: round(stem * (0.8 + 0.2 * dirs)), stem: round(stem), dirs: round(dirs) };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

// ---- Config fragments shared by the rule kinds' schemas ----

/** The rule id, unique in the policy; it names the rule in links, metrics and `explain`. */
export const ruleId = z.string().regex(/^[a-z][a-z0-9_-]*$/, {
  error: "a rule id starts with a lowercase letter and holds only a-z, 0-9, _ and -",
}).describe("Rule id, unique in the policy (lowercase letters, digits, _ and -)");

export const ruleDescription = z.string().trim().min(1).describe(
  "Why the rule holds, in one sentence; shown by `explain`",
);

/** The rule's confidence when it fires, in [0,1]. */
export function confidence(fallback: number) {
  return z.number().min(0).max(1).default(fallback).describe(
    `Confidence the rule contributes when it fires, in [0,1] (default ${fallback})`,
  );
}

/** A threshold in [0,1]. */
export function threshold(fallback: number, what: string) {
  return z.number().min(0).max(1).default(fallback).describe(
    `${what} at or above which the rule fires, in [0,1] (default ${fallback})`,
  );
}

export const entityLabel = z.string().regex(LABEL, "must be an entity label such as Artifact")
  .describe("Entity label, e.g. Artifact");
export const propertyName = z.string()
  .regex(PROPERTY, "must be a property name such as artifact_path")
  .describe("Property name on that entity");

/** `{ entity, field }`: one side of a rule that compares one property. */
export function fieldSide(side: "left" | "right") {
  return z.strictObject({ entity: entityLabel, field: propertyName }).describe(
    `The ${side} side: an entity label and the property to compare`,
  );
}
