/**
 * Fault injection for the crash tests (tests/crash_test.ts, tests/integration/crash_test.ts):
 * `ICS_FAULT_KILL=<point>:<n>` makes the process SIGKILL itself the n-th time execution reaches
 * the named point, so a test can crash the runner exactly between two steps of the data flow.
 * Unset, as it always is outside those tests, `fault()` costs one comparison.
 *
 * Killing the own process needs `--allow-run` (Deno.kill); `--allow-env` to read the variable.
 * @module
 */
import { UserError } from "./errors.ts";

/** Where a batch can be killed, in the order a batch passes them. */
export const FAULT_POINTS = {
  decode: "a batch is decoded; not yet deduplicated, correlated or written",
  graph_tx: "inside the graph store's transaction: some statements ran, none is committed",
  sinks: "graph and metrics are written; no dead letters yet, the input is not acknowledged",
  dlq: "dead letters are written (with the offsets, for a transactional queue); input not acked",
  ack: "the input is acknowledged (checkpoint or offsets); the dedup keys are not committed",
} as const;

export type FaultPoint = keyof typeof FAULT_POINTS;

const VARIABLE = "ICS_FAULT_KILL";
let plan: { point: string; n: number } | null | undefined; // undefined: not read yet
let hits = 0;

/** Reached `point`: SIGKILL this process if ICS_FAULT_KILL names it and this is the n-th time. */
export function fault(point: FaultPoint): void {
  if (plan === undefined) plan = readPlan();
  if (plan === null || plan.point !== point || ++hits !== plan.n) return;
  Deno.kill(Deno.pid, "SIGKILL");
}

/** Whether ICS_FAULT_KILL names `point` (a step that is pipelined may then wait to be reached). */
export function armed(point: FaultPoint): boolean {
  if (plan === undefined) plan = readPlan();
  return plan?.point === point;
}

function readPlan(): { point: string; n: number } | null {
  const env = Deno.permissions.querySync({ name: "env", variable: VARIABLE });
  const text = env.state === "granted" ? Deno.env.get(VARIABLE) : undefined;
  if (!text) return null;
  const m = /^(\w+):([1-9]\d*)$/.exec(text);
  if (!m || !(m[1] in FAULT_POINTS)) {
    throw new UserError(
      `${VARIABLE}="${text}" is not <point>:<n>; points: ${Object.keys(FAULT_POINTS).join(", ")}`,
    );
  }
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    throw new UserError(`${VARIABLE} needs --allow-run (the process kills itself)`);
  }
  return { point: m[1], n: Number(m[2]) };
}
