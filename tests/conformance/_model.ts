/**
 * The corpus model: what fast-check generates (`_arbitrary.ts`) and `_reduce.ts` shrinks. It holds
 * choices (kinds, picks, offsets, optional-field states), not events; `_render.ts` turns a model
 * into JSON lines and ground truth.
 * @module
 */

/** Kinds of planted pairs: one per correlation of EVENTS.md (and per side it names). */
export const PLANT_KINDS = [
  "explicit.scenario_contract",
  "explicit.scenario_task",
  "explicit.module_task",
  "exact",
  "split",
  "fuzzy.module_name",
  "fuzzy.feature",
  "tag",
  "heuristic",
] as const;
export type PlantKind = typeof PLANT_KINDS[number];

/** Near misses: pairs that look alike and must not link. */
export const MISS_KINDS = [
  "explicit.contract_id",
  "exact.plural",
  "fuzzy.module_name_plural",
  "fuzzy.feature_plural",
  "tag.version",
] as const;
export type MissKind = typeof MISS_KINDS[number];

/** Distinct events in one millisecond; the last two share EVENTS.md's key but differ in content. */
export const BURST_KINDS = [
  "features",
  "contracts_by_task",
  "artifacts_by_task",
  "artifacts_by_id",
  "modules_by_name",
  "modules_by_path",
  "scenarios",
  "violations",
  "tasks",
  "steps",
  "gates",
  "retry_same_ms",
  "coupling_same_ms",
] as const;
export type BurstKind = typeof BURST_KINDS[number];

/** Optional field states: absent (undefined), null, or a value. */
export type Noise = Record<string, unknown>;

/** `./`, back slashes and doubled slashes, per separator (bit masks). */
export interface PathNoise {
  dot: boolean;
  back: number;
  double: number;
}

export interface EventBits {
  /** Offset from the entity's first event (ms); the first event's is ignored (0). */
  after: number;
  /** How much later than its time the event arrives (out of order). */
  late: number;
  type: number;
  noise: Noise;
  path: PathNoise;
  /** On events that do not carry the link: a link field is 0 absent, 1 null, 2 repeated. */
  echo: number;
}

export interface EntityBits {
  /** Offset of the first event in the iteration's window, as a fraction of it. */
  start: number;
  events: EventBits[];
  /** Which event carries the linking fields. */
  carrier: number;
}

export interface PlantModel {
  kind: PlantKind;
  /** Words of the stem (1 to 3). */
  words: number;
  variant: number;
  pkgs: number[];
  rooted: boolean;
  /** Heuristic plants: gap between the two first sightings (ms). */
  gap: number;
  nonce: string;
  a: EntityBits;
  b: EntityBits;
  c: EntityBits;
}

export interface MissModel {
  kind: MissKind;
  words: number;
  pkgs: number[];
  nonce: string;
  a: EntityBits;
  b: EntityBits;
}

export interface BackgroundModel {
  type: number;
  subject: number;
  /** Which subject alternative(s) are present (e.g. path, id, or both). */
  alt: number;
  at: number;
  event: EventBits;
}

export interface BurstModel {
  kind: BurstKind;
  at: number;
  subject: number;
  events: EventBits[];
}

export interface IterationModel {
  tag: string;
  /** Where the iteration lies in the validation window: at its start, its end, or a fraction. */
  anchor: "min" | "max" | number;
  words: number[];
  ids: {
    workflow: string[];
    run: string[];
    analysis: string[];
    scenario: string[];
    artifact: string[];
    gate: string[];
  };
  plants: PlantModel[];
  misses: MissModel[];
  background: BackgroundModel[];
  bursts: BurstModel[];
  resends: { pick: number; delay: number }[];
}

export interface CorpusModel {
  iterations: IterationModel[];
  batchSize: number;
}

export interface Sizes {
  iterations: number;
  plants: number;
  misses: number;
  background: number;
  bursts: number;
  resends: number;
}

export const SMALL: Sizes = {
  iterations: 2,
  plants: 8,
  misses: 4,
  background: 16,
  bursts: 3,
  resends: 5,
};

export const INT_MAX = 2 ** 31 - 1;
/** The iteration's events lie within this span (ms) after its anchor. */
export const SPAN_MS = 20 * 60_000;
