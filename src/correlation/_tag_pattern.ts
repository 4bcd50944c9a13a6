/**
 * Tag patterns (`@contract:{contract_name}:{contract_version}`): literal text and placeholders,
 * matched left to right with `indexOf`, never by a backtracking regular expression (events carry
 * the tags, and `x{a}x{b}...` against a long tag took minutes).
 *
 * A tag matches when it starts with the pattern's leading text, ends with its trailing text, and
 * each placeholder, read left to right, ends at the FIRST occurrence of the literal text after it
 * (at least one character in); the last placeholder takes what lies before the trailing text. A
 * value must be non-empty and hold no whitespace and none of the separator characters of the
 * pattern's literal text (for `@contract:{name}:{version}`: `@` and `:`). So `{name}v{version}`
 * reads `apiv2v3` as name `api`, version `2v3`. Tags longer than {@link MAX_TAG_LENGTH}
 * characters match no pattern. Case-insensitive patterns compare the literal text after
 * `toLowerCase()`; the values keep the tag's case.
 * @module
 */

/** Tags longer than this match no pattern (Gherkin tags are a few dozen characters). */
export const MAX_TAG_LENGTH = 1000;

/** Split a pattern into literal parts and placeholder names: `lit0 {n0} lit1 {n1} lit2`. */
export function parsePattern(pattern: string): { literals: string[]; names: string[] } {
  const parts = pattern.split(/\{([^{}]*)\}/);
  return {
    literals: parts.filter((_, i) => i % 2 === 0),
    names: parts.filter((_, i) => i % 2 === 1),
  };
}

/** Every problem with a pattern, as messages; empty when it is usable. */
export function patternProblems(pattern: string): string[] {
  const { literals, names } = parsePattern(pattern);
  const problems: string[] = [];
  if (names.length === 0) problems.push(`pattern "${pattern}" has no {placeholder}`);
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
      problems.push(`placeholder "{${n}}" is not an identifier (letters, digits and _)`);
    }
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) problems.push(`placeholder "{${dup}}" appears twice`);
  if (literals.slice(1, -1).some((l) => l === "")) {
    problems.push("placeholders must be separated by literal text, e.g. {name}:{version}");
  }
  if (literals.some((l) => /[{}]/.test(l))) problems.push("pattern has an unbalanced { or }");
  return problems;
}

/** A compiled pattern: its placeholder names, and the values a tag gives them (if it matches). */
export interface TagPattern {
  names: string[];
  match(tag: string): string[] | undefined;
}

const escapeInClass = (s: string) => s.replace(/[\]\\^-]/g, "\\$&");

/** Lower case, one code point at a time, keeping the string's length (`İ` stays `İ`). */
function foldCase(s: string): string {
  let out = "";
  for (const c of s) {
    const lower = c.toLowerCase();
    out += lower.length === c.length ? lower : c;
  }
  return out;
}

export function compilePattern(pattern: string, caseSensitive: boolean): TagPattern {
  const { literals, names } = parsePattern(pattern);
  const separators = [...new Set(literals.join("").replace(/[\p{L}\p{N}\s]/gu, ""))];
  // One character class, tested on each value: linear, nothing to backtrack.
  const forbidden = new RegExp(`[\\s${separators.map(escapeInClass).join("")}]`, "u");
  const fold = caseSensitive ? (s: string) => s : foldCase;
  const parts = literals.map(fold);
  const [head, tail] = [parts[0], parts[parts.length - 1]];
  return {
    names,
    match(tag) {
      if (tag.length > MAX_TAG_LENGTH) return undefined;
      const text = fold(tag);
      const end = text.length - tail.length; // where the trailing text starts
      if (end < head.length || !text.startsWith(head) || !text.endsWith(tail)) return undefined;
      const values: string[] = [];
      let at = head.length;
      for (let i = 1; i < parts.length; i++) {
        const last = i === parts.length - 1;
        const stop = last ? end : text.indexOf(parts[i], at + 1);
        if (stop <= at || stop + (last ? 0 : parts[i].length) > end) return undefined;
        const value = tag.slice(at, stop);
        if (forbidden.test(value)) return undefined;
        values.push(value);
        at = stop + parts[i].length;
      }
      return values;
    },
  };
}
