/**
 * Deterministic generator of realistic `dde` / `bdv` / `acc` events (field names per EVENTS.md),
 * used for the bundled samples (`bench/gen_samples.ts`) and the benchmark corpus.
 *
 * An iteration is first *planned* ({@link IterationPlan}: which modules, which correlation family
 * each module exercises, which near misses), then *rendered* to events by {@link iterationEvents}.
 * {@link corpus} plans and renders one iteration at a time, so memory stays flat however many
 * events are generated. Everything derives from a mulberry32 PRNG: same seed, same events.
 * @module
 */
import {
  accModuleName,
  accModulePath,
  type AccVariant,
  artifactPath,
  contractId,
  contractName,
  dotted,
  type Event,
  featureFile,
  hex,
  humanize,
  int,
  type IterationPlan,
  type Md,
  type ModulePlan,
  mulberry32,
  nearMissModule,
  P_CYCLE,
  P_FEATURE,
  P_FLAKE,
  P_RETRY,
  P_VIOLATION,
  pad,
  PRODUCER,
  type Rng,
  SCENARIOS,
  stemOf,
  STEPS,
  type Stream,
  typoStem,
  type Violation,
  VIOLATIONS,
  VOCABULARY,
} from "./_corpus_model.ts";
export * from "./_corpus_model.ts";

export interface CorpusOptions {
  iterations: number;
  seed?: number;
  /** Modules per iteration (4 or more); default: random 8–20. */
  modulesPerIteration?: number;
  /** Epoch ms of the first iteration's start. */
  startTime?: number;
}

export const DEFAULT_START = Date.UTC(2025, 0, 6, 9, 0, 0);
export const ITERATION_SPACING_MS = 22 * 60_000;

export const iterationId = (seed: number, n: number) =>
  seed === 1 ? `it-${pad(n)}` : `it-${seed}-${pad(n)}`;

function moduleCount(o: Partial<CorpusOptions>): number | undefined {
  const m = o.modulesPerIteration;
  return m === undefined ? undefined : Math.max(4, Math.min(VOCABULARY.length, Math.round(m)));
}

/** Random plan of iteration `n` (1-based); modules 0–3 pin every correlation family. */
export function planIteration(seed: number, n: number, options: CorpusOptions): IterationPlan {
  const rng = mulberry32((seed ^ Math.imul(n, 0x9e3779b1)) >>> 0);
  const count = moduleCount(options) ?? int(rng, 8, 20);
  const pool = [...VOCABULARY], contracts = int(rng, 1, 3), modules: ModulePlan[] = [];
  const variants: AccVariant[] = ["exact", "messy", "name_only", "other_path", "path_only"];
  const weighted: AccVariant[] = [...Array(9).fill("exact"), "messy", "messy", "messy"];
  weighted.push(...Array(4).fill("name_only"), "other_path", "other_path"); // 45/15/20/10/10 %
  weighted.push("path_only", "path_only");
  for (let i = 0; i < count; i++) {
    const path = pool.splice(int(rng, 0, pool.length - 1), 1)[0];
    const acc = variants[i] ?? weighted[int(rng, 0, 19)];
    const feature = i < 3 || rng() < P_FEATURE;
    const version = rng() < 0.3 ? "v2" : "v1", idInScenario = i === 0 || rng() < 0.5;
    modules.push({
      path,
      acc,
      accNodeId: i === 2 || rng() < 0.3,
      buildRetry: rng() < P_RETRY,
      scenarios: i === 0 ? 3 : feature ? int(rng, 2, 4) : 0,
      contract: i < contracts ? { name: contractName(path), version, idInScenario } : undefined,
      bdvNodeId: i === 1 || (feature && rng() < 0.3),
      violation: rng() < P_VIOLATION
        ? Object.keys(VIOLATIONS)[int(rng, 0, 2)] as Violation
        : undefined,
    });
  }
  const c0 = modules[0].contract!, other = c0.version === "v1" ? "v2" : "v1";
  return {
    id: iterationId(seed, n),
    start: (options.startTime ?? DEFAULT_START) + (n - 1) * ITERATION_SPACING_MS,
    seed: Math.floor(rng() * 4294967296),
    modules,
    cycle: rng() < P_CYCLE ? [4, 1, 3].map((i) => dotted(modules[i % count].path)) : [],
    nearMissTag: `@contract:${c0.name}:${other}`,
  };
}

/** Expected events per iteration (the mean of the generator's distribution). */
export function eventsPerIteration(options: Partial<CorpusOptions> = {}): number {
  const m = moduleCount(options) ?? 14;
  const features = 3 + P_FEATURE * (m - 3), scenarios = 3 * features + 2; // + misspelt feature
  const dde = 8 + (6 + 3 * P_RETRY) * m; // 2 contracts on average
  const bdv = 2 + 2 * (features + 1) + scenarios * (4 + P_FLAKE) + 3; // 3 contract tags
  const acc = 3 + m + 1 + P_VIOLATION * m + P_CYCLE;
  return Math.round(dde + bdv + acc);
}

/** Lazily yields events in roughly time order, iteration after iteration. */
export function* corpus(options: CorpusOptions): Generator<Event> {
  const seed = options.seed ?? 1;
  for (let n = 1; n <= options.iterations; n++) {
    yield* iterationEvents(planIteration(seed, n, options));
  }
}

/** One newline-terminated JSON line. */
export const toJsonl = (event: Event) => JSON.stringify(event) + "\n";

type Draft = {
  stream: Stream;
  type: string;
  ts: number;
  fields: Event;
  md?: Md;
  trace?: string;
  burst?: boolean;
};

/** Renders a plan to its events, sorted by timestamp (ties keep generation order). */
export function iterationEvents(plan: IterationPlan): Event[] {
  const rng = mulberry32(plan.seed), drafts: Draft[] = [];
  const traces = { dde: hex(rng, 32), bdv: hex(rng, 32), acc: undefined };
  const emit = (
    stream: Stream,
    type: string,
    ts: number,
    fields: Event,
    md?: Md,
    traced = false,
  ) => {
    const d: Draft = { stream, type, ts, fields, md, trace: traced ? traces[stream] : undefined };
    drafts.push(d);
    return d;
  };
  /** Keep the draft's time even if another event of its stream has it (a same-millisecond burst). */
  const burst = (d: Draft) => void (d.burst = true);
  const workflow_id = `wf-${plan.id}`, test_run_id = `tr-${plan.id}`, analysis_id = `an-${plan.id}`;
  const dde = (type: string, ts: number, f: Event = {}, md?: Md) =>
    emit("dde", type, ts, { workflow_id, attempt: 1, ...f }, md, true);
  const bdv = (type: string, ts: number, f: Event, md?: Md, traced = false) =>
    emit("bdv", type, ts, { test_run_id, ...f }, md, traced);
  const acc = (type: string, ts: number, f: Event, md?: Md) =>
    emit("acc", type, ts, { analysis_id, ...f }, md);
  const t0 = plan.start, tTest = t0 + 15 * 60_000, mods = plan.modules;

  dde("WORKFLOW_STARTED", t0, { status: "RUNNING" }, { git_sha: hex(rng, 12), branch: "main" });
  mods.forEach((m, i) => { // build phase: one task and one artifact per module
    const node_id = `build_${stemOf(m.path)}`, started = t0 + 5_000 + i * 8_000 + int(rng, 0, 3e3);
    let t = started, attempt = 1;
    dde("TASK_STARTED", t, { node_id, status: "RUNNING" });
    if (m.buildRetry) {
      const error_message = "Process exited with code 137 (OOMKilled)";
      t += int(rng, 5_000, 20_000);
      dde("TASK_FAILED", t, { node_id, status: "FAILED", duration_ms: t - started, error_message });
      dde("TASK_RETRYING", t + 1_000, { node_id, status: "RETRYING", attempt: ++attempt });
      dde("TASK_STARTED", t += 3_000, { node_id, status: "RUNNING", attempt });
    }
    const d = int(rng, 20_000, 60_000), artifact_id = `art-${stemOf(m.path)}-${hex(rng, 8)}`;
    dde("TASK_COMPLETED", t + d, { node_id, status: "SUCCEEDED", attempt, duration_ms: d });
    const art = { node_id, attempt, artifact_id, artifact_path: artifactPath(m.path) };
    dde("ARTIFACT_CREATED", t + d + 400, art);
    dde("ARTIFACT_VALIDATED", t + d + 2_500, { ...art, status: "SUCCEEDED" });
  });
  // One task locks, then validates, every contract at once: events in the same millisecond.
  mods.filter((m) => m.contract).forEach(({ contract: c }) => {
    const f = { contract_id: contractId(c!), contract_name: c!.name, contract_version: c!.version };
    const node_id = "lock_contracts";
    burst(dde("CONTRACT_LOCKED", t0 + 270_000, { node_id, ...f, status: "SUCCEEDED" }));
    burst(dde("CONTRACT_VALIDATED", t0 + 330_000, { node_id, ...f, status: "SUCCEEDED" }));
  });

  /** A feature file run: scenarios with steps, tags and results; returns true if one failed. */
  const feature = (stem: string, t: number, names: string[], m?: ModulePlan) => {
    const ff = { feature_file: featureFile(stem), feature_name: humanize(stem) };
    const started = bdv("FEATURE_STARTED", t, ff);
    if (t === burstAt) burst(started);
    let failed = false;
    names.forEach((scenario_name, k) => {
      const tags = [
        `@${m?.path.split("/")[0] ?? "legacy"}`,
        rng() < 0.3 ? "@smoke" : "@regression",
      ];
      const s: Event = { ...ff, scenario_id: `sc-${stem}-${k + 1}`, scenario_name, tags };
      const c = m?.contract, ts = t + 1_000 + k * 4_500;
      if (c && k === 0) tags.push(`@contract:${c.name}:${c.version}`);
      if (c?.idInScenario && k === 1) s.contract_id = contractId(c);
      if (m === mods[0] && k === 2) tags.push(plan.nearMissTag);
      const md = m?.bdvNodeId && k === names.length - 1
        ? { dde_node_id: `test_${stem}` }
        : undefined;
      const r = rng(), flaky = m?.flaky?.[k] ?? rng() < P_FLAKE;
      const outcome = m?.outcomes?.[k] ?? (r < 0.02 ? "FAILED" : r < 0.06 ? "SKIPPED" : "PASSED");
      if (tags.some((x) => x.startsWith("@contract:"))) bdv("CONTRACT_TAG_DETECTED", ts, s, md);
      STEPS.forEach((text, j) => {
        const step_text = text.replace("{h}", ff.feature_name.toLowerCase());
        const status = outcome === "FAILED" && j < 2 ? "PASSED" : outcome;
        const duration_ms = int(rng, 20, 800);
        bdv("STEP_EXECUTED", ts + 200 + j * 900, { ...s, step_text, status, duration_ms }, md);
      });
      const error_message = outcome === "FAILED"
        ? "AssertionError: expected 200, got 503"
        : undefined;
      const result = { ...s, status: outcome, duration_ms: int(rng, 2_800, 3_200), error_message };
      bdv(`SCENARIO_${outcome}`, ts + 3_000, result, md, true);
      const flake_rate = Math.round((0.05 + rng() * 0.3) * 100) / 100;
      if (flaky) bdv("FLAKE_DETECTED", ts + 3_100, { ...s, flake_rate }, md);
      failed ||= outcome === "FAILED";
    });
    const status = failed ? "FAILED" : "PASSED";
    bdv("FEATURE_COMPLETED", t + 1_500 + names.length * 4_500, { ...ff, status });
    return failed;
  };
  bdv("TEST_RUN_STARTED", tTest - 2_000, {});
  let failed = false;
  // The first two feature files start in the same millisecond (run in parallel).
  let burstAt = -1;
  mods.forEach((m, i) => { // test phase: test_<stem> runs the module's feature file
    const stem = stemOf(m.path), node_id = `test_${stem}`;
    let t = tTest + i * 25_000 + int(rng, 0, 4_000);
    if (i === 0) burstAt = t;
    else if (i === 1) t = burstAt;
    const d = 3_000 + m.scenarios * 4_500;
    dde("TASK_STARTED", t, { node_id, status: "RUNNING" });
    const names = SCENARIOS.slice(0, m.scenarios).map((x) => x.replace("{H}", humanize(stem)));
    const bad = m.scenarios > 0 && feature(stem, t, names, m);
    const error_message = bad ? "1 scenario failed" : undefined;
    const f = { node_id, status: bad ? "FAILED" : "SUCCEEDED", duration_ms: d, error_message };
    dde(bad ? "TASK_FAILED" : "TASK_COMPLETED", t + d, f);
    failed ||= bad;
  });
  const tNear = tTest + mods.length * 25_000 + 5_000; // the misspelt feature file of modules[0]
  const legacy = ["Legacy export is disabled", "Archived records stay hidden"];
  const nearFailed = feature(typoStem(stemOf(mods[0].path)), tNear, legacy);
  bdv("TEST_RUN_COMPLETED", tNear + 12_000, { status: failed || nearFailed ? "FAILED" : "PASSED" });

  const ta = t0 + 30_000; // architecture analysis runs alongside the build
  acc("ANALYSIS_STARTED", ta, {});
  const named = [...mods, { path: nearMissModule(mods[0].path), acc: "exact" as const }];
  const where = (m: Pick<ModulePlan, "path" | "acc">) => ({
    module_path: accModulePath(m),
    module_name: accModuleName(m),
  });
  named.forEach((m, i) => {
    const fan_in = int(rng, 0, 12), fan_out = int(rng, 1, 15);
    const instability = Math.round((fan_out / (fan_in + fan_out)) * 1000) / 1000;
    const md = "accNodeId" in m && m.accNodeId
      ? { dde_node_id: `build_${stemOf(m.path)}` }
      : undefined;
    const f = { ...where(m), fan_in, fan_out, instability };
    // Modules are analysed in pairs, each pair in one millisecond.
    burst(acc("MODULE_ANALYZED", ta + 2_000 + Math.floor(i / 2) * 1_500, f, md));
  });
  const tg = ta + 4_000 + Math.ceil(named.length / 2) * 1_500;
  const findings = mods.filter((m) => m.violation);
  acc("GRAPH_BUILT", tg, { message: `${named.length} modules` });
  findings.forEach((m, i) => {
    const target_module = dotted(mods[(mods.indexOf(m) + 1) % mods.length].path);
    const message = `${dotted(m.path)} imports ${target_module}`;
    const f: Event = { ...where(m), target_module, message, ...VIOLATIONS[m.violation!] };
    if (m.violation === "COUPLING_ALERT") f.fan_out = int(rng, 16, 30);
    acc(m.violation!, tg + 1_000 + i * 400, f);
  });
  const cycle = plan.cycle, message = [...cycle, cycle[0]].join(" -> ");
  const cyc = { rule_id: "no-cycles", severity: "ERROR", cycle, message };
  if (cycle.length) acc("CYCLE_DETECTED", tg + 3_000, cyc);
  const total = findings.length + (cycle.length ? 1 : 0);
  acc("ANALYSIS_COMPLETED", tg + 5_000, { message: `${total} findings` });

  const tEnd = tNear + 20_000;
  dde("QUALITY_GATE_CHECKED", tEnd, { quality_gate: "tests", gate_passed: !failed });
  dde("QUALITY_GATE_CHECKED", tEnd + 1_000, { quality_gate: "architecture", gate_passed: !total });
  const status = failed ? "FAILED" : "SUCCEEDED", duration_ms = tEnd + 8_000 - t0;
  dde(`WORKFLOW_${failed ? "FAILED" : "COMPLETED"}`, tEnd + 8_000, { status, duration_ms });
  return finish(plan, drafts, rng);
}

/**
 * Per stream: timestamps made strictly increasing but for planned bursts (distinct events in one
 * millisecond), ids in time order.
 */
function finish(plan: IterationPlan, drafts: Draft[], rng: Rng): Event[] {
  const out: Event[] = [];
  for (const stream of ["dde", "bdv", "acc"] as const) {
    let prev = -Infinity, n = 0;
    for (const d of drafts.filter((x) => x.stream === stream).sort((a, b) => a.ts - b.ts)) {
      prev = d.ts = d.burst ? Math.max(d.ts, prev) : Math.max(d.ts, prev + 1);
      const event_id = `${plan.id}-${stream}-${pad(++n)}`, producer = PRODUCER[stream];
      const e: Event = {
        event_id,
        event_type: d.type,
        iteration_id: plan.id,
        timestamp: d.ts,
        producer,
      };
      if (d.trace) {
        const span_id = hex(rng, 16);
        Object.assign(e, {
          trace_id: d.trace,
          span_id,
          traceparent: `00-${d.trace}-${span_id}-01`,
        });
      }
      e.metadata = d.md ?? {};
      if (stream === "bdv") e.tags = [];
      if (stream === "acc") e.cycle = [];
      for (const [k, v] of Object.entries(d.fields)) if (v !== undefined) e[k] = v;
      out.push(e);
    }
  }
  return out.sort((a, b) => (a.timestamp as number) - (b.timestamp as number));
}
