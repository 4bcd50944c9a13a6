/**
 * The fast-check arbitraries of the corpus model: every event type, every optional field absent,
 * `null` or a value (boundary integers, any Unicode), paths with normalisation noise, places at the
 * very start and end of the validation window, out-of-order arrivals.
 * @module
 */
import fc from "fast-check";
import {
  BG_CONTRACT_NAMES,
  BG_CONTRACT_REFS,
  BG_FEATURE_STEMS,
  BG_MODULE_STEMS,
  BG_NODE_REFS,
  BG_SCENARIO_NAMES,
  BG_TAGS,
  BG_TASKS,
  BG_VERSIONS,
  PACKAGES,
  PLANT_WORDS,
  RULE_IDS,
} from "./_words.ts";
import { SEVERITY, STATUS } from "./_contract.ts";
import {
  type BackgroundModel,
  BURST_KINDS,
  type BurstModel,
  type CorpusModel,
  type EntityBits,
  type EventBits,
  INT_MAX,
  type IterationModel,
  MISS_KINDS,
  type MissModel,
  type Noise,
  type PathNoise,
  PLANT_KINDS,
  type PlantModel,
  type Sizes,
  SMALL,
  SPAN_MS,
} from "./_model.ts";

const tri = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof(fc.constant(undefined), fc.constant(null), arb) as fc.Arbitrary<T | null | undefined>;
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const hex = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const boundaryInt = fc.oneof(
  fc.constant(0),
  fc.constant(INT_MAX),
  fc.integer({ min: 0, max: INT_MAX }),
);
const unitDouble = fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x === 0 ? 0 : x);
/** Printable text (any script, emoji, combining marks). */
const text = fc.string({ unit: "grapheme", maxLength: 16 });
/** Any code points at all, controls included: free text no rule reads. */
const anyText = fc.string({ unit: "binary", maxLength: 16 });
/** A printable, non-blank id. */
export const idText = fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 })
  .filter((s) => s.trim() !== "");

/** Values for every optional field any event type may carry; `_render.ts` keeps its type's. */
const noise: fc.Arbitrary<Noise> = fc.record({
  trace_id: tri(hex(32)),
  span_id: tri(hex(16)),
  traceparent: tri(fc.tuple(hex(32), hex(16)).map(([t, s]) => `00-${t}-${s}-01`)),
  metadata: opt(
    fc.record({
      owner: opt(text),
      "ключ 🔑": opt(anyText),
      dde_node_id: opt(fc.constantFrom(...BG_NODE_REFS)),
    }).map((m) => JSON.parse(JSON.stringify(m))),
  ),
  dde_status: tri(fc.constantFrom(...STATUS.dde)),
  bdv_status: tri(fc.constantFrom(...STATUS.bdv)),
  attempt: opt(boundaryInt),
  duration_ms: tri(boundaryInt),
  error_message: tri(anyText),
  node_id: tri(fc.constantFrom(...BG_TASKS)),
  contract_name: tri(fc.constantFrom(...BG_CONTRACT_NAMES)),
  contract_version: tri(fc.constantFrom(...BG_VERSIONS)),
  gate_passed: tri(fc.boolean()),
  tags: opt(fc.array(fc.constantFrom(...BG_TAGS), { maxLength: 3 })),
  feature_file: tri(fc.constantFrom(...BG_FEATURE_STEMS)),
  feature_name: tri(text),
  scenario_name: tri(fc.constantFrom(...BG_SCENARIO_NAMES)),
  contract_id: tri(fc.constantFrom(...BG_CONTRACT_REFS)),
  scenario_id: tri(idText),
  flake_rate: tri(unitDouble),
  severity: tri(fc.constantFrom(...SEVERITY)),
  message: tri(anyText),
  target_module: tri(fc.tuple(fc.nat(), fc.constantFrom(...BG_MODULE_STEMS))),
  rule_id: tri(fc.constantFrom(...RULE_IDS)),
  fan_in: tri(boundaryInt),
  fan_out: tri(boundaryInt),
  instability: tri(unitDouble),
}, { noNullPrototype: true });

const pathNoise: fc.Arbitrary<PathNoise> = fc.record({
  dot: fc.boolean(),
  back: fc.nat(15),
  double: fc.nat(15),
});

const weighted = <T>(...arbs: [number, fc.Arbitrary<T>][]) =>
  fc.oneof(...arbs.map(([weight, arbitrary]) => ({ weight, arbitrary })));

// Record keys shrink in order: what removes the most (arrays) comes first, the noise last.
const eventBits: fc.Arbitrary<EventBits> = fc.record({
  type: fc.nat(),
  after: weighted([1, fc.constant(0)], [3, fc.integer({ min: 1, max: 60_000 })]),
  late: weighted([4, fc.constant(0)], [1, fc.integer({ min: 1, max: SPAN_MS })]),
  echo: fc.nat(2),
  path: pathNoise,
  noise,
});

/** A place in the window: its very start and end are boundaries, so they come often. */
const fraction = weighted(
  [1, fc.constant(0)],
  [1, fc.constant(1)],
  [6, fc.double({ min: 0, max: 1, noNaN: true })],
);

const entityBits: fc.Arbitrary<EntityBits> = fc.record({
  events: fc.array(eventBits, { minLength: 1, maxLength: 3 }),
  start: fraction,
  carrier: fc.nat(),
});

const pkgs = fc.array(fc.nat(PACKAGES.length - 1), { maxLength: 2 });

const plant: fc.Arbitrary<PlantModel> = fc.record({
  kind: fc.constantFrom(...PLANT_KINDS),
  a: entityBits,
  b: entityBits,
  c: entityBits,
  words: fc.integer({ min: 1, max: 3 }),
  variant: fc.nat(),
  pkgs,
  rooted: fc.boolean(),
  gap: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 120_000 })),
  nonce: idText,
});

const miss: fc.Arbitrary<MissModel> = fc.record({
  kind: fc.constantFrom(...MISS_KINDS),
  a: entityBits,
  b: entityBits,
  words: fc.integer({ min: 1, max: 3 }),
  pkgs,
  nonce: idText,
});

const background: fc.Arbitrary<BackgroundModel> = fc.record({
  type: fc.nat(),
  subject: fc.nat(),
  alt: fc.nat(2),
  at: fraction,
  event: eventBits,
});

const burst: fc.Arbitrary<BurstModel> = fc.record({
  kind: fc.constantFrom(...BURST_KINDS),
  events: fc.array(eventBits, { minLength: 2, maxLength: 4 }),
  at: fraction,
  subject: fc.nat(),
});

const pool = fc.array(idText, { minLength: 1, maxLength: 3 });

function iteration(s: Sizes): fc.Arbitrary<IterationModel> {
  return fc.record({
    plants: fc.array(plant, { maxLength: s.plants }),
    misses: fc.array(miss, { maxLength: s.misses }),
    background: fc.array(background, { maxLength: s.background }),
    bursts: fc.array(burst, { maxLength: s.bursts }),
    resends: fc.array(fc.record({ pick: fc.nat(), delay: fc.nat(SPAN_MS) }), {
      maxLength: s.resends,
    }),
    anchor: fc.oneof(
      fc.constant("min" as const),
      fc.constant("max" as const),
      fc.double({ min: 0, max: 1, noNaN: true }),
    ),
    // A permutation: shrinking it would only reorder words, at the cost of a run per try.
    words: fc.noShrink(fc.shuffledSubarray([...PLANT_WORDS.keys()], {
      minLength: PLANT_WORDS.length,
      maxLength: PLANT_WORDS.length,
    })),
    tag: idText,
    ids: fc.record({
      workflow: pool,
      run: pool,
      analysis: pool,
      scenario: pool,
      artifact: pool,
      gate: pool,
    }),
  });
}

/** Corpora valid under EVENTS.md (see `_contract.ts`), with planted pairs and near misses. */
export function corpusModel(sizes: Sizes = SMALL): fc.Arbitrary<CorpusModel> {
  return fc.record({
    iterations: fc.array(iteration(sizes), { minLength: 1, maxLength: sizes.iterations }),
    batchSize: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(5000)),
  });
}
