/**
 * The corpus of `deno task bench:scale`: ONE iteration of n modules, each built by a task that
 * produces its artifact (dde), analysed by path and dotted name (acc) and tested by a feature file
 * of two scenarios (bdv), with the correlations every module must get (the planted pairs) and a few
 * near misses that must stay unlinked.
 *
 * Names come from a vocabulary: `shared` draws stems of 1–3 words from Zipf-weighted nouns and
 * roles, so words recur across names as in real code (`user_service`, `user_api`,
 * `order_service`, `user_order_store`); `distinct` gives every stem words no other stem uses. Stems
 * are unique in the iteration either way. Modules start `gap_ms` apart: a bigger iteration is a
 * longer one, not a denser one.
 * @module
 */
import { mulberry32, type Rng } from "./_corpus_model.ts";

export type Vocabulary = "shared" | "distinct";

export interface ScaleOptions {
  /** About this many events (whole modules). */
  events: number;
  vocabulary: Vocabulary;
  /** Time between two modules' builds, ms. */
  gapMs?: number;
  seed?: number;
}

/** A pair that must link: the rule and both entities as `Label key`. */
export interface Planted {
  rule: string;
  a: string;
  b: string;
}

export interface ScaleCorpus {
  events: Record<string, unknown>[];
  modules: number;
  planted: Planted[];
  /** Entities (`Label key`) that no link may touch. */
  nearMisses: string[];
}

const NOUNS = `user order payment account product invoice customer cart session profile report
 search price stock shipment ticket message event tenant audit token email notification
 subscription discount review catalog warehouse address refund ledger schedule export import
 config metric image document comment group role permission contract policy device
 location currency tax coupon loyalty reward partner vendor supplier booking calendar task job
 queue batch cache index file upload download chat video media asset content page menu region
 store brand inventory`.split(/\s+/).filter(Boolean);
const ROLES = `service api handler store client manager controller repository validator worker
 processor router adapter gateway builder parser resolver scheduler listener publisher
 consumer factory registry tracker exporter importer loader sync engine`.split(/\s+/)
  .filter(Boolean);
const DOMAINS = `core api billing auth orders catalog payments notifications inventory shipping
 search reporting analytics storage admin messaging media geo support cart`.split(/\s+/)
  .filter(Boolean);
/** Events per module: 4 dde, 1 acc, 4 bdv. */
const PER_MODULE = 9;
const START = Date.UTC(2025, 0, 6, 9, 0, 0);

/** Index in [0, n) drawn with probability ∝ 1 / (rank + 1) (Zipf, s = 1). */
function zipf(rng: Rng, n: number): number {
  let total = 0;
  for (let i = 1; i <= n; i++) total += 1 / i;
  let x = rng() * total;
  for (let i = 0; i < n; i++) if ((x -= 1 / (i + 1)) <= 0) return i;
  return n - 1;
}

/** Unique stems (as word lists) and their domain folders. */
function stems(n: number, vocabulary: Vocabulary, rng: Rng): { words: string[]; dir: string }[] {
  const out: { words: string[]; dir: string }[] = [];
  const seen = new Set<string>();
  const dir = () => DOMAINS[zipf(rng, DOMAINS.length)];
  if (vocabulary === "distinct") {
    // Words no other stem uses: syllable strings of a unique number (letters only, one token).
    const syllables = ["ka", "zo", "vu", "ri", "te", "mo", "ne", "pa", "lu", "fi", "go", "xe"];
    const word = (k: number) => {
      let s = "q";
      for (let j = 0; j < 4; j++, k = Math.floor(k / syllables.length)) {
        s += syllables[k % syllables.length];
      }
      return s;
    };
    for (let i = 0; i < n; i++) out.push({ words: [word(2 * i), word(2 * i + 1)], dir: dir() });
    return out;
  }
  while (out.length < n) {
    const r = rng();
    const words = r < 0.1
      ? [NOUNS[zipf(rng, NOUNS.length)]]
      : r < 0.6
      ? [NOUNS[zipf(rng, NOUNS.length)], ROLES[zipf(rng, ROLES.length)]]
      : [
        NOUNS[zipf(rng, NOUNS.length)],
        NOUNS[zipf(rng, NOUNS.length)],
        ROLES[zipf(rng, ROLES.length)],
      ];
    const stem = words.join("_");
    if (new Set(words).size < words.length || seen.has(stem)) continue;
    seen.add(stem);
    out.push({ words, dir: dir() });
  }
  return out;
}

const humanize = (words: string[]) => {
  const s = words.join(" ");
  return s[0].toUpperCase() + s.slice(1);
};

/** The corpus, its events sorted by time (each stream's timestamps strictly increasing). */
export function scaleCorpus(options: ScaleOptions): ScaleCorpus {
  const rng = mulberry32(options.seed ?? 7);
  const gap = options.gapMs ?? 10_000;
  const n = Math.max(1, Math.round((options.events - 6) / PER_MODULE));
  const iteration_id = `scale-${options.vocabulary}-${n}`;
  const workflow_id = `wf-${iteration_id}`, test_run_id = `tr-${iteration_id}`;
  const analysis_id = `an-${iteration_id}`;
  const drafts: { stream: "dde" | "bdv" | "acc"; ts: number; f: Record<string, unknown> }[] = [];
  const dde = (event_type: string, ts: number, f: Record<string, unknown> = {}) =>
    drafts.push({ stream: "dde", ts, f: { event_type, workflow_id, attempt: 1, ...f } });
  const bdv = (event_type: string, ts: number, f: Record<string, unknown> = {}) =>
    drafts.push({ stream: "bdv", ts, f: { event_type, test_run_id, ...f } });
  const acc = (event_type: string, ts: number, f: Record<string, unknown> = {}) =>
    drafts.push({ stream: "acc", ts, f: { event_type, analysis_id, ...f } });
  const planted: Planted[] = [], nearMisses: string[] = [];
  const end = START + n * gap + 120_000;

  dde("WORKFLOW_STARTED", START, { status: "RUNNING" });
  bdv("TEST_RUN_STARTED", START);
  acc("ANALYSIS_STARTED", START);
  stems(n, options.vocabulary, rng).forEach(({ words, dir }, i) => {
    const stem = words.join("_"), t = START + 1_000 + i * gap;
    const node_id = `build_${stem}`, artifact_path = `src/${dir}/${stem}.py`;
    const module_name = `${dir}.${stem}`, feature_file = `features/${stem}.feature`;
    dde("TASK_STARTED", t, { node_id, status: "RUNNING" });
    dde("TASK_COMPLETED", t + 20_000, { node_id, status: "SUCCEEDED", duration_ms: 20_000 });
    const art = { node_id, artifact_id: `art-${i}`, artifact_path };
    dde("ARTIFACT_CREATED", t + 20_400, art);
    dde("ARTIFACT_VALIDATED", t + 22_500, { ...art, status: "SUCCEEDED" });
    const fan_in = 1 + (i % 7), fan_out = 1 + (i % 5);
    const metrics = {
      fan_in,
      fan_out,
      instability: Math.round(fan_out / (fan_in + fan_out) * 1e3) / 1e3,
    };
    acc("MODULE_ANALYZED", t + 25_000, { module_path: artifact_path, module_name, ...metrics });
    const ff = { feature_file, feature_name: humanize(words) };
    bdv("FEATURE_STARTED", t + 30_000, ff);
    const names = ["returns the expected response", "rejects an invalid request"];
    names.forEach((what, k) => {
      const scenario_id = `sc-${stem}-${k + 1}`;
      const s = { ...ff, scenario_id, scenario_name: `${humanize(words)} ${what}`, tags: ["@api"] };
      bdv("SCENARIO_PASSED", t + 34_000 + k * 4_000, {
        ...s,
        status: "PASSED",
        duration_ms: 3_000,
      });
      // build_user ~ "User rejects an invalid request": 0.6 * 1/3 + 0.4 * t reaches 0.6 only at
      // t = 1; every other task ~ scenario of its module scores above 0.6 within a minute.
      if (words.length === 1 && k === 1) return;
      planted.push({
        rule: "task-scenario-heuristic",
        a: `Task ${node_id}`,
        b: `Scenario ${scenario_id}`,
      });
    });
    bdv("FEATURE_COMPLETED", t + 43_000, { ...ff, status: "PASSED" });
    const artifact = `Artifact ${artifact_path}`, module = `Module ${artifact_path}`;
    planted.push({ rule: "artifact-module-path", a: artifact, b: module });
    planted.push({ rule: "artifact-module-name", a: artifact, b: module });
    planted.push({ rule: "feature-artifact-stem", a: `Feature ${feature_file}`, b: artifact });
    if (i % 50 === 7) { // a near miss: `user_services`, analysed by name only (no such artifact)
      acc("MODULE_ANALYZED", t + 26_000, { module_name: `${module_name}s`, ...metrics });
      nearMisses.push(`Module ${module_name}s`);
    }
  });
  dde("WORKFLOW_COMPLETED", end, { status: "SUCCEEDED", duration_ms: end - START });
  bdv("TEST_RUN_COMPLETED", end, { status: "PASSED" });
  acc("ANALYSIS_COMPLETED", end, { message: "0 findings" });
  return { events: render(iteration_id, drafts), modules: n, planted, nearMisses };
}

const PRODUCER = { dde: "dag_executor", bdv: "bdv_runner", acc: "import_graph_builder" };

function render(
  iteration_id: string,
  drafts: { stream: "dde" | "bdv" | "acc"; ts: number; f: Record<string, unknown> }[],
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const stream of ["dde", "bdv", "acc"] as const) {
    let prev = -Infinity, n = 0;
    for (const d of drafts.filter((x) => x.stream === stream).sort((a, b) => a.ts - b.ts)) {
      const timestamp = prev = Math.max(d.ts, prev + 1);
      const e: Record<string, unknown> = {
        event_id: `${iteration_id}-${stream}-${++n}`,
        event_type: d.f.event_type,
        iteration_id,
        timestamp,
        producer: PRODUCER[stream],
        metadata: {},
        ...(stream === "bdv" ? { tags: [] } : stream === "acc" ? { cycle: [] } : {}),
      };
      out.push(Object.assign(e, d.f));
    }
  }
  return out.sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
}
