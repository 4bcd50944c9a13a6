/**
 * Shared by the crash tests (tests/crash_test.ts: embedded, tests/integration/crash_test.ts:
 * services): the input, the kill plan, and the loop that runs the runner as a subprocess, SIGKILLs
 * it (at a fault point, see src/core/fault.ts, or at a random moment) and restarts it until a run
 * completes.
 * @module
 */
import { corpus, type Rng } from "../bench/corpus.ts";
import { FAULT_POINTS, type FaultPoint } from "../src/core/fault.ts";

export const root = new URL("..", import.meta.url).pathname;

/** A seed no earlier run used: its iteration ids (`it-<seed>-NNNN`) are new to shared stores. */
export const freshSeed = () => 100_000 + Math.floor(Math.random() * 900_000_000);

export interface CrashInput {
  seed: number;
  /** Iteration id prefix of this input (`it-<seed>-`). */
  prefix: string;
  /** JSON Lines, in order. */
  lines: string[];
  /** Per line: the event id of a valid event (a duplicate shares it) or null for poison. */
  ids: (string | null)[];
  /** Per line: its iteration, null for poison. */
  iterations: (string | null)[];
  /** Distinct valid events per stream. */
  perStream: Record<string, number>;
  duplicates: number;
  poison: number;
}

/**
 * Corpus events (deterministic per seed), with every 97th event re-sent 1,500 lines later (an
 * exact copy: the dedup store drops it) and a poison line every 1,000 events, alternately a
 * truncated JSON line and an ARTIFACT_CREATED without its path: both are dead-lettered. Whole
 * iterations until there are at least `minLines` lines (about 190 iterations; how many events an
 * iteration has depends on the seed, so a fixed count fell short for some seeds).
 */
export function crashInput(seed: number, minLines = 50_000): CrashInput {
  const out: CrashInput = {
    seed,
    prefix: `it-${seed}-`,
    lines: [],
    ids: [],
    iterations: [],
    perStream: { dde: 0, bdv: 0, acc: 0 },
    duplicates: 0,
    poison: 0,
  };
  const push = (line: string, id: string | null, iteration: string | null) => {
    out.lines.push(line);
    out.ids.push(id);
    out.iterations.push(iteration);
  };
  const resend = new Map<number, string[]>(); // at event index → lines
  let lastDde: Record<string, unknown> | undefined;
  let i = 0, current: string | undefined;
  for (const e of corpus({ iterations: 1_000, seed })) {
    const line = JSON.stringify(e);
    const id = e.event_id as string, iteration = e.iteration_id as string;
    if (out.lines.length >= minLines && iteration !== current) break;
    current = iteration;
    push(line, id, iteration);
    out.perStream[id.split("-").at(-2)!]++;
    if ("workflow_id" in e) lastDde = e;
    if (i % 97 === 50) resend.set(i + 1500, [...resend.get(i + 1500) ?? [], line]);
    for (const copy of resend.get(i) ?? []) {
      const e = JSON.parse(copy);
      push(copy, e.event_id, e.iteration_id);
      out.duplicates++;
    }
    resend.delete(i);
    if (i % 1000 === 500) {
      const bad = out.poison++ % 2 === 0 || !lastDde
        ? line.slice(0, 40) // truncated JSON
        : JSON.stringify({
          ...lastDde,
          event_id: `${lastDde.event_id}-poison`,
          event_type: "ARTIFACT_CREATED",
          node_id: `poison-${i}`,
          artifact_path: undefined,
          artifact_id: undefined,
        });
      push(bad, null, null);
    }
    i++;
  }
  return out;
}

/** Distinct valid events among the first `n` lines, and their iterations. */
export function prefixOf(input: CrashInput, n: number) {
  const ids = new Set<string>(), iterations = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (input.ids[i] !== null) ids.add(input.ids[i]!), iterations.add(input.iterations[i]!);
  }
  return { events: ids.size, iterations };
}

/** One kill: at a fault point (the n-th batch to reach it) or after a random delay. */
export type Step =
  | { kind: "point"; point: FaultPoint; n: number }
  | { kind: "random"; delay_ms: number };

/** `perPoint` kills at each fault point (n in 1..maxN) and `random` random ones, shuffled. */
export function killPlan(
  rng: Rng,
  o: { perPoint: number; random: number; maxN: number; delay_ms: [number, number] },
): Step[] {
  const steps: Step[] = [];
  for (const point of Object.keys(FAULT_POINTS) as FaultPoint[]) {
    for (let k = 0; k < o.perPoint; k++) {
      steps.push({ kind: "point", point, n: 1 + Math.floor(rng() * o.maxN) });
    }
  }
  for (let k = 0; k < o.random; k++) {
    const [lo, hi] = o.delay_ms;
    steps.push({ kind: "random", delay_ms: Math.round(lo + rng() * (hi - lo)) });
  }
  for (let k = steps.length - 1; k > 0; k--) {
    const j = Math.floor(rng() * (k + 1));
    [steps[k], steps[j]] = [steps[j], steps[k]];
  }
  return steps;
}

export interface Attempt {
  step: Step | { kind: "final" };
  /** killed: by the plan; completed: the run finished (exit 0) before the kill came. */
  outcome: "killed" | "completed";
  /** Input committed (checkpoint, or offsets) before and after the attempt. */
  before: number;
  after: number;
  ms: number;
}

export interface LoopOptions {
  plan: Step[];
  /** Start the runner (stdout and stderr piped); `env` holds ICS_FAULT_KILL for point kills. */
  spawn(env: Record<string, string>): Deno.ChildProcess;
  /** How much input is committed now, and in all. */
  progress(): Promise<number>;
  total: number;
  /** Checks of the state a kill left, before the next start. */
  afterKill?(attempt: Attempt): Promise<void>;
  /** Longest an attempt may take before it counts as hung. */
  timeout_ms: number;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Run the plan: each step starts the runner and kills it; a random kill waits for the attempt's
 * first committed progress (so it lands while batches are moving), then its delay, or less when
 * the attempt has already committed its share of what is left (so a fast machine does not run
 * out of input before the plan is through). Stops when a run completes; otherwise a final run
 * without faults must complete. A run that fails or hangs fails the test with its output.
 */
export async function crashLoop(o: LoopOptions): Promise<Attempt[]> {
  const attempts: Attempt[] = [];
  const steps: Attempt["step"][] = [...o.plan, { kind: "final" }];
  for (const [i, step] of steps.entries()) {
    const before = await o.progress();
    const started = performance.now();
    const env: Record<string, string> = step.kind === "point"
      ? { ICS_FAULT_KILL: `${step.point}:${step.n}` }
      : {};
    const child = o.spawn(env);
    const output = child.output();
    let hung = false;
    const watchdog = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, o.timeout_ms);
    let exited = false;
    output.finally(() => exited = true).catch(() => {});
    if (step.kind === "random") {
      while (!exited && (await o.progress()) <= before) await sleep(100);
      const deadline = performance.now() + step.delay_ms;
      const share = before + (o.total - before) / (steps.length - i);
      while (!exited && performance.now() < deadline && (await o.progress()) < share) {
        await sleep(Math.min(100, deadline - performance.now()));
      }
      if (!exited) child.kill("SIGKILL");
    }
    const out = await output;
    clearTimeout(watchdog);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    if (hung) throw new Error(`attempt ${attempts.length + 1} hung:\n${text(out.stderr)}`);
    const killed = out.signal === "SIGKILL";
    if (!killed && out.code !== 0) {
      throw new Error(
        `attempt ${attempts.length + 1} (${describe(step)}) failed with exit code ${out.code}:\n` +
          `${text(out.stderr)}\n${text(out.stdout)}`,
      );
    }
    if (killed && step.kind === "final") throw new Error("the final run was killed");
    const attempt: Attempt = {
      step,
      outcome: killed ? "killed" : "completed",
      before,
      after: await o.progress(),
      ms: Math.round(performance.now() - started),
    };
    attempts.push(attempt);
    o.log?.(
      `  ${String(attempts.length).padStart(2)}. ${describe(step).padEnd(26)} ${
        attempt.outcome.padEnd(9)
      } committed ${before} → ${attempt.after} (${(attempt.ms / 1000).toFixed(1)} s)`,
    );
    if (killed) await o.afterKill?.(attempt);
    else break;
  }
  return attempts;
}

export function describe(step: Attempt["step"]): string {
  return step.kind === "point"
    ? `kill at ${step.point}, batch ${step.n}`
    : step.kind === "random"
    ? `kill ${step.delay_ms} ms into work`
    : "final run";
}

/** Kills per stage ("random" for random kills), for the report. */
export function killsByStage(attempts: Attempt[]): Record<string, number> {
  const by: Record<string, number> = {};
  for (const a of attempts) {
    if (a.outcome !== "killed") continue;
    const stage = a.step.kind === "point" ? a.step.point : "random";
    by[stage] = (by[stage] ?? 0) + 1;
  }
  return by;
}
