/**
 * The pipeline process of `bench/services.ts` (`_services_pipeline.ts`) seen from the bench: how
 * it is started, what it writes when its run ends, a report column from its samples, its peak RSS,
 * and its Redis checks replayed on an idle store.
 * @module
 */
import { createRedisStore, schema as redisSchema } from "../src/dedup/redis.ts";
import type { BenchSetup } from "./_services_setup.ts";
import { percentile, ROOT, SERVICES } from "./_services_setup.ts";
import { stats } from "./_services_live.ts";
import { type Column, type Cpu, TARGETS } from "./_services_report.ts";

/** What `_services_pipeline.ts` writes when its run ends. */
export interface ChildResult {
  elapsed_ms: number;
  first_batch_ms: number | null;
  startup_ms: number | null;
  received: number;
  processed: number;
  duplicates: number;
  dead_letters: number;
  batches: number;
  node_versions: number;
  relationship_versions: number;
  link_versions: number;
  closed: number;
  retries: number;
  stages: Record<string, number>;
  /** Dedup checks: [end (Date.now()), keys, ms]. */
  seen: [number, number, number][];
  /** Graph store load() calls of the model (ms each). */
  loads: number[];
  /** Graph writes: [end (Date.now()), versions opened + closed, ms]. */
  writes: [number, number, number][];
  /** Event-loop lag samples: [Date.now(), ms]. */
  lags: [number, number][];
  committed: { keys: string[]; at: number[] };
  peak_rss_kb: number;
}

/** Start the pipeline on the run's private spec; it writes its ChildResult to `out` at the end. */
export function spawnPipeline(
  setup: BenchSetup,
  state: string,
  mode: "drain" | "live",
  out: string,
  profileDir?: string,
): Deno.ChildProcess {
  const prof = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const args = ["run", "-A", ...prof, `${ROOT}bench/_services_pipeline.ts`];
  return new Deno.Command(Deno.execPath(), {
    args: [...args, setup.specFile, state, mode, out],
    cwd: ROOT,
    env: { ICS_GROUP_ID: setup.group },
    stdout: "null",
    stderr: "inherit",
  }).spawn();
}

/** Peak RSS (VmHWM) of a process so far, MiB. */
export const peakRss = async (pid: number): Promise<number> =>
  Number(/VmHWM:\s+(\d+)/.exec(await Deno.readTextFile(`/proc/${pid}/status`))?.[1] ?? 0) / 1024;

/** A column of the report from the child's samples taken between `from` and `to` (Date.now()). */
export function columnOf(
  c: ChildResult,
  base: Pick<Column, "name" | "rate" | "sustained" | "latency" | "rssMiB">,
  cpu: Cpu,
  from = -Infinity,
  to = Infinity,
): Column {
  const within = <T extends number[]>(xs: T[]) => xs.filter((x) => x[0] >= from && x[0] <= to);
  const writes = within(c.writes), seen = within(c.seen), lags = within(c.lags);
  return {
    ...base,
    writes: { ...stats(writes.map((w) => w[2])), size: percentile(writes.map((w) => w[1]), 50) },
    seen: { ...stats(seen.map((s) => s[2])), size: percentile(seen.map((s) => s[1]), 50) },
    lag: {
      ...stats(lags.map((l) => l[1])),
      stalls: lags.filter((l) => l[1] > TARGETS.stallMs).length,
    },
    cpu,
  };
}

/**
 * The Redis check with the same batch sizes on an idle store (fresh keys under the run's
 * prefix): the service's own share of the checks the pipeline made. Times in ms.
 */
export async function idleSeen(prefix: string, sizes: number[]): Promise<number[]> {
  const store = await createRedisStore(
    redisSchema.parse({ type: "redis", url: SERVICES.redis, key_prefix: `${prefix}iso:` }),
    60,
    { log: () => {} },
  );
  const times: number[] = [];
  try {
    for (const size of sizes) {
      const keys = Array.from({ length: size }, () => ({
        key: crypto.randomUUID() + crypto.randomUUID(),
        digest: crypto.randomUUID().replaceAll("-", ""),
      }));
      const t0 = performance.now();
      await store.seen(keys);
      times.push(performance.now() - t0);
    }
  } finally {
    await store.close();
  }
  return times;
}
