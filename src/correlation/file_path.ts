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
 * Fuzzy candidates (`_blocking.ts`): the similarity reaches the threshold θ only if the stems'
 * Dice coefficient does (the folder factor is at most 1), so the stems' word tokens are blocked with
 * the bound δ = θ − 10⁻⁶ (the similarity is rounded to 6 decimals before it is compared). At the
 * default 0.85, a stem of one or two words qualifies only against the same words (in any order),
 * and longer stems must share at least three words: an entity is indexed under and looks up its
 * word pairs or triples (`service|user`), so `user_service` meets `UserService` and
 * `billing.user_service` but not every other `user_*` or `*_service` of the iteration, and
 * `user_order_service` does not meet `user_cart_service`. Near misses that cannot reach the threshold
 * (`user_services`) are no longer candidates: they do not count as near misses in the metrics, and
 * `explain` still scores them. At lower thresholds fewer shared words are required, down to any
 * shared word; a threshold of 0 links only stems that share a word.
 * @module
 */
import { z } from "zod";
import type { EntityView, Rule, RuleKind, Side } from "./_types.ts";
import { type Blocking, diceBlocking } from "./_blocking.ts";
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

/** Rounding of the similarity (6 decimals) can lift a score by 5·10⁻⁷: the bound allows 10⁻⁶. */
const TOLERANCE = 1e-6;

function fuzzy(config: FuzzyConfig, read: Read): Pick<Rule, "keys" | "probes" | "evaluate"> {
  const options = { ignoreDirs: config.ignore_dirs, ignoreExtensions: config.ignore_extensions };
  const parse = (side: "left" | "right", e: EntityView) => {
    const v = read(side, e);
    const id = v === undefined ? undefined : parseModule(v, options);
    return id && id.words.length > 0 ? id : undefined;
  };
  const blocker = diceBlocking({ minDice: config.threshold - TOLERANCE });
  // The engine asks for keys, then probes, of the same entity: parse it once.
  let last: { side: Side; value: string | undefined; blocking: Blocking } | undefined;
  const blocking = (side: Side, e: EntityView): Blocking => {
    const value = read(side, e);
    if (last?.side !== side || last.value !== value) {
      const id = parse(side, e);
      last = { side, value, blocking: id ? blocker(id.words) : { keys: [], probes: [] } };
    }
    return last.blocking;
  };
  return {
    keys: (side, e) => blocking(side, e).keys,
    probes: (side, e) => blocking(side, e).probes,
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
