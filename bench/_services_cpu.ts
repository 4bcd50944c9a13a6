/**
 * CPU seconds per service while a phase of `bench/services.ts` runs, from `/proc` (Linux): the
 * processes named by the caller (the pipeline, the benchmark itself), each service (the
 * `-Dics.service=` JVMs of `infrastructure/`, the Apicurio one as "registry"; Postgres backends,
 * Redis) and everything else on the machine. Processes are sampled every second, so a
 * short-lived one (a Postgres backend of the pipeline) is counted up to its last sample.
 * @module
 */

const TICK = 100; // USER_HZ on Linux
/** Services named for their role rather than their product. */
const ALIASES: Record<string, string> = { apicurio: "registry" };

interface Sample {
  name: string;
  ticks: number;
}

async function processes(named: Record<number, string>): Promise<Map<number, Sample>> {
  const out = new Map<number, Sample>();
  for await (const e of Deno.readDir("/proc")) {
    const pid = Number(e.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      let name: string | undefined;
      if (named[pid]) name = named[pid];
      else if (comm === "postgres") name = "postgres";
      else if (comm === "redis-server") name = "redis";
      else if (comm === "java") {
        const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`);
        const service = /-Dics\.service=(\w+)/.exec(cmd)?.[1];
        name = service && (ALIASES[service] ?? service);
      }
      if (name) out.set(pid, { name, ticks });
    } catch { /* the process ended meanwhile */ }
  }
  return out;
}

async function machineBusy(): Promise<number> {
  const [cpu] = (await Deno.readTextFile("/proc/stat")).split("\n");
  const v = cpu.trim().split(/\s+/).slice(1).map(Number);
  return v.reduce((a, b) => a + b, 0) - v[3] - v[4]; // minus idle and iowait
}

export interface CpuMonitor {
  /** CPU seconds per name (plus "other": the rest of the machine) and the wall seconds. */
  stop(): Promise<{ wall_s: number; cpu_s: Record<string, number> }>;
}

/** Start sampling; `named` names processes of our own (pid → name). */
export async function monitorCpu(named: Record<number, string>): Promise<CpuMonitor> {
  const started = performance.now();
  const first = await processes(named);
  const busy0 = await machineBusy();
  const last = new Map(first);
  let sampling = Promise.resolve();
  const timer = setInterval(() => {
    sampling = sampling.then(async () => {
      for (const [pid, s] of await processes(named)) last.set(pid, s);
    });
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await sampling;
      for (const [pid, s] of await processes(named)) last.set(pid, s);
      const cpu: Record<string, number> = {};
      let counted = 0;
      for (const [pid, s] of last) {
        const ticks = s.ticks - (first.get(pid)?.ticks ?? 0);
        cpu[s.name] = (cpu[s.name] ?? 0) + ticks / TICK;
        counted += ticks;
      }
      cpu.other = Math.max(0, (await machineBusy()) - busy0 - counted) / TICK;
      return { wall_s: (performance.now() - started) / 1000, cpu_s: cpu };
    },
  };
}
