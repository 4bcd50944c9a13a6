/**
 * A runner instance in the test's own process (so a test can wrap its stores and read its
 * telemetry), its log lines kept; and waiting for a state instead of sleeping.
 * @module
 */
import { join } from "node:path";
import { compile, type Pipeline, run } from "../../src/runtime/mod.ts";
import type { CompiledSpec } from "../../src/compiler/mod.ts";

/** Resolves once `check()` holds (asked every 100 ms), or rejects after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 90_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A pipeline in this process, its log lines kept. */
export interface Instance {
  name: string;
  p: Pipeline;
  logs: string[];
  stop(): Promise<void>;
}

/** Compile a target of the spec, its state in `<dir>/state-<target>`. */
export async function start(spec: CompiledSpec, target: string, dir: string): Promise<Instance> {
  const logs: string[] = [];
  const p = await compile(spec, {
    target,
    stateDir: join(dir, `state-${target}`),
    log: (level, message) => {
      logs.push(`${level}: ${message}`);
      if (Deno.env.get("ICS_TEST_LOG")) console.error(new Date().toISOString(), target, message);
    },
  });
  return { name: target, p, logs, stop: () => Promise.resolve() };
}

/** Run it until `stop()`, which ends the run (the batches in flight are finished) and closes it. */
export function running(i: Instance) {
  const stop = new AbortController();
  const done = run(i.p, stop.signal);
  done.catch(() => {}); // awaited by stop()
  i.stop = async () => {
    stop.abort();
    try {
      await done;
    } finally {
      await i.p.close();
    }
  };
}

/** Partition lists of an instance's group joins ("[0]", or "none"). */
export const joins = (i: Instance) =>
  i.logs.flatMap((l) => {
    const m = l.match(/kafka: joined group \S+: (.*)/);
    return m ? [m[1] === "no partitions" ? "none" : m[1].match(/\[[\d,]*\]/)![0]] : [];
  });
