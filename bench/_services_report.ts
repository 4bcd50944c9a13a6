/**
 * The tables `bench/services.ts` prints: throughput against the peer, then one column per phase
 * (the drain run, each sustained rate) with latency, graph write, Redis check, event-loop lag, CPU
 * seconds per process and peak RSS; each figure that has a target, with it and whether it is met.
 * @module
 */
import { type Latency, type Stats, stats } from "./_services_live.ts";
import type { ChildResult } from "./_services_child.ts";

export const TARGETS = {
  /** Services drain, events/s. */
  drainRate: 5000,
  /** ics drain rate / peer-shaped sink rate. */
  peerRatio: 0.5,
  /** p95 end to end at this sustained rate, ms. */
  e2eRate: 2500,
  e2eP95Ms: 1000,
  /** Per graph transaction, ms. */
  writeP95Ms: 100,
  /** Per dedup check (one round trip per batch), ms. */
  seenP95Ms: 10,
  /** No event-loop lag sample over this, ms. */
  stallMs: 50,
};

export interface Cpu {
  wall_s: number;
  cpu_s: Record<string, number>;
}

/** One phase of the run: the drain, or a sustained rate. */
export interface Column {
  name: string;
  /** The rate produced, events/s (none: the drain). */
  sustained?: number;
  /** Events/s the pipeline (drain) or the producer (sustained) achieved. */
  rate: number;
  latency?: Latency;
  /** Graph transactions (ms), with the median versions per transaction. */
  writes: Stats & { size: number };
  /** Dedup checks (ms), with the median keys per check. */
  seen: Stats & { size: number };
  /** Event-loop lag samples (ms), with how many exceed the stall threshold. */
  lag: Stats & { stalls: number };
  cpu: Cpu;
  /** VmHWM of the pipeline process at the end of the phase (since the process started). */
  rssMiB: number;
}

export interface Report {
  header: string;
  drain: {
    rate: number;
    steady: number;
    seconds: number;
    events: number;
    /** The events there were to drain; fewer were when the time budget `stopped` it. */
    of: number;
    stopped: boolean;
  };
  peer: { rate: number; seconds: number; events: number; rowsPerSecond: number };
  bare: { rate: number; steady: number; seconds: number };
  produce: { rate: number; seconds: number };
  columns: Column[];
}

const fmt = (n: number, digits = 0) =>
  Number.isFinite(n)
    ? n.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : "–";
const ms = (n: number) => fmt(n, n < 10 ? 1 : 0);
const verdict = (misses: string[]) => misses.length ? `MISSED: ${misses.join(", ")}` : "met";

/** Rows of cells as text columns, each as wide as its widest cell plus two spaces. */
function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, c.length + 2));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("").trimEnd());
}

export function printReport(r: Report): void {
  const t1: string[][] = [["throughput", "value", "target", "result"]];
  const stopped = r.drain.stopped
    ? `; stopped after ${fmt(r.drain.seconds, 0)} s: ${fmt(r.drain.events)} of ${
      fmt(r.drain.of)
    } events`
    : "";
  t1.push([
    "ics drain (services target)",
    `${fmt(r.drain.rate)} events/s (${fmt(r.drain.seconds, 1)} s; ${
      fmt(r.drain.steady)
    }/s from 1st batch${stopped})`,
    `≥ ${fmt(TARGETS.drainRate)}/s`,
    verdict(r.drain.rate >= TARGETS.drainRate ? [] : ["drain"]),
  ]);
  t1.push([
    "peer-shaped MERGE sink",
    `${fmt(r.peer.rate)} events/s (first ${fmt(r.peer.events)} events, ${
      fmt(r.peer.seconds, 1)
    } s; ${fmt(r.peer.rowsPerSecond)} rows/s)`,
  ]);
  const ratio = r.drain.rate / r.peer.rate;
  t1.push([
    "ics / peer",
    `${ratio.toFixed(2)} (from 1st batch: ${(r.drain.steady / r.peer.rate).toFixed(2)})`,
    `≥ ${TARGETS.peerRatio}`,
    verdict(ratio >= TARGETS.peerRatio ? [] : ["ratio"]),
  ]);
  t1.push([
    "bare kafkajs consume",
    `${fmt(r.bare.rate)} records/s (${fmt(r.bare.seconds, 1)} s; ${
      fmt(r.bare.steady)
    }/s from 1st batch)`,
  ]);
  t1.push([
    "produce (Avro via registry)",
    `${fmt(r.produce.rate)} events/s (${fmt(r.produce.seconds, 1)} s)`,
  ]);

  const cols = r.columns;
  const t2: string[][] = [];
  const row = (figure: string, cells: string[], target = "", result = "") =>
    t2.push([figure, ...cells, target, result]);
  /** The columns where `fails` holds. */
  const missed = (fails: (c: Column) => boolean) => cols.filter(fails).map((c) => c.name);
  row("per phase", cols.map((c) => c.name), "target", "result");
  row("events/s achieved", cols.map((c) => fmt(c.rate)));
  const e2e = cols.find((c) => c.latency && c.sustained === TARGETS.e2eRate);
  row(
    "e2e p50 / p95 / p99 (ms)",
    cols.map((c) =>
      c.latency
        ? `${c.latency.pending ? "≥ " : ""}${ms(c.latency.p50)} / ${ms(c.latency.p95)} / ${
          ms(c.latency.p99)
        }`
        : "–"
    ),
    `p95 < ${fmt(TARGETS.e2eP95Ms)} @ ${fmt(TARGETS.e2eRate)}`,
    e2e ? verdict(e2e.latency!.p95 < TARGETS.e2eP95Ms ? [] : [e2e.name]) : "not measured",
  );
  if (cols.some((c) => c.latency?.pending)) {
    row(
      "  not committed by phase end",
      cols.map((c) => c.latency ? `${fmt(c.latency.pending)} of ${fmt(c.latency.count)}` : ""),
      "",
      "(lower bounds: ≥)",
    );
  }
  row(
    "graph write p95 / tx (ms)",
    cols.map((c) => `${ms(c.writes.p95)} (~${fmt(c.writes.size)} ver.)`),
    `p95 < ${TARGETS.writeP95Ms}`,
    verdict(missed((c) => !(c.writes.p95 < TARGETS.writeP95Ms))),
  );
  row(
    "Redis check p95 (ms)",
    cols.map((c) => `${ms(c.seen.p95)} (~${fmt(c.seen.size)} keys)`),
    `p95 < ${TARGETS.seenP95Ms}`,
    verdict(missed((c) => !(c.seen.p95 < TARGETS.seenP95Ms))),
  );
  row(
    "event-loop lag p95 / max (ms)",
    cols.map((c) => `${ms(c.lag.p95)} / ${ms(c.lag.max)}`),
    `none > ${TARGETS.stallMs}`,
    verdict(missed((c) => c.lag.stalls > 0)),
  );
  if (cols.some((c) => c.lag.stalls > 0)) {
    row(`  samples > ${TARGETS.stallMs} ms`, cols.map((c) => `${c.lag.stalls} of ${c.lag.count}`));
  }
  row("peak RSS, pipeline (MiB)", cols.map((c) => fmt(c.rssMiB)));
  row("wall seconds of the phase", cols.map((c) => fmt(c.cpu.wall_s, 1)));
  const processes = ["pipeline", "neo4j", "kafka", "redis", "postgres", "registry", "bench"];
  for (const p of [...processes, "other"]) {
    row(
      p === "other" ? "CPU s, rest of the machine" : `CPU s, ${p}`,
      cols.map((c) => fmt(c.cpu.cpu_s[p] ?? 0, 1)),
    );
  }
  console.log(["", r.header, "", ...table(t1), "", ...table(t2)].join("\n"));
}

export interface Details {
  drain: ChildResult;
  /** CPU seconds per process during the drain. */
  drainCpu: Cpu;
  peer: { rows: number; lines: number; ms: number };
  peerCpu: Cpu;
  /** ics's own Neo4j store writing the peer's events' changes (BENCH_STORE_WRITE). */
  store?: { ms: number; versions: number };
  idleSeenMs: number[];
}

/**
 * What the machine's cores bound the drain to: the CPU seconds the processes it needs (pipeline and
 * services, not this bench or the rest of the machine) spent per event, against every core.
 */
function cpuBound(drain: ChildResult, use: Cpu): string {
  const own = ["pipeline", "neo4j", "kafka", "redis", "postgres", "registry"];
  const seconds = own.reduce((a, p) => a + (use.cpu_s[p] ?? 0), 0);
  const cores = navigator.hardwareConcurrency;
  const bound = drain.received / (seconds / cores);
  const rate = drain.received / (drain.elapsed_ms / 1000);
  return `CPU bound of the drain: pipeline and services spent ${fmt(seconds, 1)} CPU s on ` +
    `${fmt(drain.received)} events, so ${cores} cores doing nothing else drain at most ` +
    `${fmt(bound)} events/s; the drain reached ${fmt(rate)} (${(rate / bound).toFixed(2)} of it)`;
}

/** The lines under the tables: what the drain did, where its time went, the baselines' extras. */
export function printDetails(
  { drain, drainCpu, peer, peerCpu, store, idleSeenMs }: Details,
): void {
  const rows = drain.node_versions + drain.relationship_versions + drain.link_versions +
    drain.closed;
  const idle = stats(idleSeenMs), loads = stats(drain.loads);
  const cpu = (u: Cpu) =>
    Object.entries(u.cpu_s).sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v.toFixed(1)}`)
      .join(", ");
  const lines = [
    "",
    `drain run: ${fmt(drain.received)} read, ${fmt(drain.processed)} processed, ` +
    `${drain.duplicates} duplicates, ${drain.dead_letters} dead letters, ${drain.batches} ` +
    `batches, ${drain.retries} retries; ${fmt(rows)} graph versions opened or closed ` +
    `(${fmt(rows / drain.processed, 2)} per event); start-up ${
      fmt((drain.startup_ms ?? 0) / 1000, 2)
    } s`,
    `stage busy time in the drain (s, overlapping): ` +
    Object.entries(drain.stages).map(([s, v]) => `${s} ${v.toFixed(2)}`).join(", "),
    `graph model reads (store.load) in the drain: ${drain.loads.length} calls, p50 ` +
    `${ms(loads.p50)} / p95 ${ms(loads.p95)} ms`,
    `Redis check, the drain's batch sizes on an idle store: p50 ${ms(idle.p50)} / p95 ` +
    `${ms(idle.p95)} ms`,
    `peer-shaped sink: ${fmt(peer.rows / peer.lines, 2)} rows per event; CPU s during it: ` +
    cpu(peerCpu),
    cpuBound(drain, drainCpu),
  ];
  if (store) {
    lines.push(
      `ics's Neo4j store, the same events' changes: ${
        fmt(peer.lines / (store.ms / 1000))
      } events-eq/s (${fmt(store.ms / 1000, 2)} s, ${fmt(store.versions)} versions; ` +
        `peer / store time ${(peer.ms / store.ms).toFixed(2)})`,
    );
  }
  console.log(lines.join("\n"));
}
