/**
 * The process metrics prom-client reads from `/proc/self` (resident and virtual memory, heap, open
 * and maximum file descriptors). Deno opens `/proc/self` only under `--allow-all`, and prom-client
 * then reports 0 (or, for `process_max_fds`, nothing), so these replace its own:
 *
 * - `process_resident_memory_bytes`: `Deno.memoryUsage().rss`, under any permissions;
 * - `process_virtual_memory_bytes`, `process_heap_bytes` (VmSize, VmData of `/proc/self/status`),
 *   `process_open_fds` (entries of `/proc/self/fd`) and `process_max_fds` (the soft limit in
 *   `/proc/self/limits`): exported only where those files can be read (Linux, `--allow-all`),
 *   and left out otherwise: a missing series says "unknown", a 0 would lie.
 *
 * The V8 heap is `nodejs_heap_size_total_bytes`/`_used_bytes` (prom-client, correct under Deno).
 * @module
 */
import client from "prom-client";

/** The prom-client metrics replaced here. */
const REPLACED = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

/** A file's text, or undefined when it cannot be read (not Linux, or not permitted). */
function readable(path: string): string | undefined {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** A `kB` field of /proc/self/status, in bytes. */
export function statusBytes(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** The soft limit of open files in /proc/self/limits (undefined when unlimited or absent). */
export function maxOpenFiles(limits: string): number | undefined {
  const m = /^Max open files\s+(\d+)/m.exec(limits);
  return m ? Number(m[1]) : undefined;
}

/** Open file descriptors, less the one reading the directory; undefined when not readable. */
function openFds(): number | undefined {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n - 1;
  } catch {
    return undefined;
  }
}

/** Replace prom-client's /proc-based process metrics in `registry` (see the module comment). */
export function registerProcessMetrics(registry: client.Registry): void {
  for (const name of REPLACED) registry.removeSingleMetric(name);
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });
  gauge(
    "process_resident_memory_bytes",
    "Resident memory size in bytes.",
    () => Deno.memoryUsage().rss,
  );
  const status = () => readable("/proc/self/status");
  if (status() !== undefined) {
    gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", () => {
      const s = status();
      return s === undefined ? undefined : statusBytes(s, "VmSize");
    });
    gauge("process_heap_bytes", "Process heap size in bytes.", () => {
      const s = status();
      return s === undefined ? undefined : statusBytes(s, "VmData");
    });
  }
  if (openFds() !== undefined) {
    gauge("process_open_fds", "Number of open file descriptors.", openFds);
  }
  const limits = readable("/proc/self/limits");
  const max = limits === undefined ? undefined : maxOpenFiles(limits);
  if (max !== undefined) {
    gauge("process_max_fds", "Maximum number of open file descriptors.", () => max);
  }
}
