/**
 * Labelled pairs (`rules/tests/labels.jsonl`): one JSON object per line, two endpoints and
 * whether they are the same thing (`match`). Each line is validated with positions (a JSON line
 * is a YAML flow mapping, so the spec's YAML loader gives line and column).
 * @module
 */
import {
  loadYaml,
  readConfigFile,
  shortName,
  type SpecError,
  validate,
  yamlPath,
} from "../yaml/mod.ts";
import { didYouMean } from "../core/did_you_mean.ts";
import type { Endpoint } from "./evaluate.ts";
import { pairKey } from "./evaluate.ts";
import { labelSchema } from "./schema.ts";

export interface Label {
  left: Endpoint;
  right: Endpoint;
  match: boolean;
  /** Rule ids, kinds or kind_mode names expected to link the pair (empty: any rule). */
  families: string[];
  note?: string;
  /** `file:line`. */
  at: string;
}

/** The largest labels file read: 16 MiB, some 80,000 labelled pairs. */
export const MAX_LABELS_BYTES = 16 << 20;

/** Every label of a file, or every problem (positioned) when one line is wrong. */
export async function loadLabels(
  path: string,
  labels: string[],
): Promise<{ labels: Label[]; errors: SpecError[] }> {
  const file = shortName(path);
  const text = await readConfigFile(path, file, "labelled pairs", MAX_LABELS_BYTES);
  if (typeof text !== "string") return { labels: [], errors: [text] };
  const out: Label[] = [];
  const errors: SpecError[] = [];
  const seen = new Map<string, { line: number; match: boolean }>();
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    const n = i + 1;
    const loaded = loadYaml(file, line, () => undefined);
    const checked = validate(labelSchema, loaded);
    const shift = (e: SpecError) => ({ ...e, line: n });
    if (!checked.value) {
      errors.push(...checked.errors.map(shift));
      continue;
    }
    const v = checked.value;
    for (const side of ["left", "right"] as const) {
      if (!labels.includes(v[side].label)) {
        const hint = didYouMean(v[side].label, labels);
        errors.push(shift({
          file,
          ...loaded.locate([side, "label"]),
          path: yamlPath([side, "label"]),
          message: `"${v[side].label}" is not an entity defined in entities` +
            (hint ? ` (did you mean "${hint}"?)` : ""),
        }));
      }
    }
    const ends = [v.left, v.right].map((e) => ({
      label: e.label,
      iteration_id: e.iteration_id,
      key: typeof e.key === "string" ? [e.key] : e.key,
    }));
    const key = pairKey(ends[0], ends[1]);
    const earlier = seen.get(key);
    if (earlier) {
      errors.push({
        file,
        line: n,
        column: 1,
        path: "",
        message: `this pair is labelled already at line ${earlier.line}` +
          (earlier.match !== v.match ? " with the opposite match" : ""),
      });
    }
    seen.set(key, { line: n, match: v.match });
    out.push({
      left: ends[0],
      right: ends[1],
      match: v.match,
      families: v.family === undefined ? [] : typeof v.family === "string" ? [v.family] : v.family,
      ...(v.note ? { note: v.note } : {}),
      at: `${file}:${n}`,
    });
  }
  return errors.length ? { labels: [], errors } : { labels: out, errors };
}
