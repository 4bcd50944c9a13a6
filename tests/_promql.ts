/** Metric names in PromQL, for the checks of the dashboards and the alert rules. */

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "inf",
  "nan",
]);

/** Metric names a PromQL expression reads. */
export function metricsIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""') // strings
    .replace(/\{[^}]*\}/g, " ") // label matchers
    .replace(/\[[^\]]*\]/g, " ") // range selectors
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " "); // label lists
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = m[0];
    const next = bare.slice(m.index! + name.length).trimStart();
    if (next.startsWith("(")) continue; // a function or aggregation
    if (KEYWORDS.has(name.toLowerCase()) || name.startsWith("$")) continue;
    if (bare[m.index! - 1] === "$") continue; // a Grafana variable
    names.add(name.replace(/_(bucket|sum|count)$/, ""));
  }
  return [...names];
}
