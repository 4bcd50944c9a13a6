/**
 * `file_path`: two entities name the same source file or module.
 *
 * - `exact` compares normalised paths (`./src//api\user_service.py` = `src/api/user_service.py`).
 * - `fuzzy` compares module identities written as paths, dotted names or feature files
 *   (`src/api/user_service.py` ~ `api.user_service` ~ `features/user_service.feature`): similarity is
 *   `stem * (0.8 + 0.2 * dirs)` (see `_similarity.ts`). The folder term only ever lowers a score,
 *   and only when both sides name folders that disagree: `billing.user_service` scores 0.8 against
 *   `src/api/user_service.py`, under the default threshold 0.85, because two modules that share a
 *   file name in different packages (`billing/models.py`, `api/models.py`) are different modules.
 *
 * Fuzzy blocking keys are the stem (`user_service`) plus each of its word tokens (`t:user`,
 * `t:service`), so near misses (`user_services`) become candidates and `explain` can show them. The
 * cost: every entity whose stem shares a common token (`t:user`, `t:models`) is evaluated against
 * every other such entity of the iteration.
 * @module
 */
import { z } from "zod";
import type { EntityView, Rule, RuleKind } from "./_types.ts";
import {
  confidence,
  fieldSide,
  moduleSimilarity,
  normalizePath,
  parseModule,
  ruleDescription,
  ruleId,
  textOf,
  threshold,
} from "./_similarity.ts";

const common = {
  id: ruleId,
  kind: z.literal("file_path"),
  description: ruleDescription,
  left: fieldSide("left"),
  right: fieldSide("right"),
};

const exactSchema = z.strictObject({
  ...common,
  mode: z.literal("exact").describe("Normalised paths must be equal"),
  confidence: confidence(0.9),
}).describe("Link two entities whose file paths are equal after normalisation");

const fuzzySchema = z.strictObject({
  ...common,
  mode: z.literal("fuzzy").describe("Module identities must be similar enough"),
  confidence: confidence(0.7),
  threshold: threshold(0.85, "Similarity"),
  ignore_dirs: z.array(z.string().min(1)).default([
    "src",
    "lib",
    "app",
    "features",
    "tests",
    "test",
  ])
    .describe("Leading root folders that carry no meaning and are dropped before comparing"),
  ignore_extensions: z.boolean().default(true).describe(
    "Drop file extensions; when false the extension is part of the module's name",
  ),
}).describe("Link two entities naming the same module as a path, dotted name or feature file");

const schema = z.discriminatedUnion("mode", [exactSchema, fuzzySchema]).describe(
  "Link two entities that name the same file (mode exact) or module (mode fuzzy)",
);

export type FilePathConfig = z.infer<typeof schema>;
type FuzzyConfig = z.infer<typeof fuzzySchema>;
type ExactConfig = z.infer<typeof exactSchema>;

function create(config: FilePathConfig): Rule {
  const { left, right } = config;
  const base = {
    id: config.id,
    kind: "file_path",
    description: config.description,
    left: left.entity,
    right: right.entity,
    confidence: config.confidence,
    fields: { left: [left.field], right: [right.field] },
  };
  const value = (side: "left" | "right", e: EntityView) => textOf(e.props[config[side].field]);
  return { ...base, ...(config.mode === "exact" ? exact(config, value) : fuzzy(config, value)) };
}

type Read = (side: "left" | "right", e: EntityView) => string | undefined;

function exact(config: ExactConfig, read: Read): Pick<Rule, "keys" | "evaluate"> {
  const path = (side: "left" | "right", e: EntityView) => {
    const v = read(side, e);
    return v === undefined ? undefined : normalizePath(v) || undefined;
  };
  return {
    keys: (side, e) => {
      const p = path(side, e);
      return p === undefined ? [] : [p];
    },
    evaluate(l, r) {
      const a = path("left", l), b = path("right", r);
      if (a === undefined || b === undefined) return null;
      const fired = a === b;
      return {
        fired,
        score: fired ? config.confidence : 0,
        matched: { left: read("left", l), right: read("right", r) },
        reason: `${JSON.stringify(a)} ${fired ? "equals" : "differs from"} ${JSON.stringify(b)}` +
          " after normalisation",
      };
    },
  };
}

function fuzzy(config: FuzzyConfig, read: Read): Pick<Rule, "keys" | "evaluate"> {
  const options = { ignoreDirs: config.ignore_dirs, ignoreExtensions: config.ignore_extensions };
  const parse = (side: "left" | "right", e: EntityView) => {
    const v = read(side, e);
    const id = v === undefined ? undefined : parseModule(v, options);
    return id && id.words.length > 0 ? id : undefined;
  };
  return {
    keys(side, e) {
      const id = parse(side, e);
      return id ? [id.stem, ...new Set(id.words.map((w) => `t:${w}`))] : [];
    },
    evaluate(l, r) {
      const a = parse("left", l), b = parse("right", r);
      if (a === undefined || b === undefined) return null;
      const detail = moduleSimilarity(a, b);
      const fired = detail.similarity >= config.threshold;
      const dirs = detail.dirs < 1
        ? `, folders "${a.dirs.join("/")}" and "${b.dirs.join("/")}"`
        : "";
      return {
        fired,
        score: config.confidence * detail.similarity,
        matched: { left: read("left", l), right: read("right", r) },
        detail,
        reason: `similarity ${detail.similarity.toFixed(2)} ${
          fired ? "reaches" : "is below"
        } the threshold ${config.threshold} (stems "${a.stem}" and "${b.stem}"${dirs})`,
      };
    },
  };
}

export const file_path: RuleKind<typeof schema> = { kind: "file_path", schema, create };
