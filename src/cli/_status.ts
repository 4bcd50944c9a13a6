/**
 * The live status line of `ics run`: events/s, consumer lag, links and dead letters, redrawn in
 * place on stderr at most four times a second. Only on a terminal (never in pipes, files or CI
 * logs) and never with `--quiet`; log lines clear it first so they never land inside it.
 * @module
 */
import type { Telemetry } from "../telemetry/mod.ts";

export interface StatusSample {
  elapsed_ms: number;
  /** Records read so far. */
  events: number;
  /** Records per second over the last second. */
  rate: number;
  /** Total consumer lag; undefined when the source reports none (a file). */
  lag?: number;
  links: number;
  dead_letters: number;
}

const n = (x: number) => Math.round(x).toLocaleString("en");

/** One line, e.g. `ics ▸ 12,000 events · 3,400/s · lag 120 · 65 links · 6 dead letters · 3.5 s`. */
export function formatStatus(s: StatusSample, columns = Infinity): string {
  const parts = [
    `${n(s.events)} events`,
    `${n(s.rate)}/s`,
    ...(s.lag === undefined ? [] : [`lag ${n(s.lag)}`]),
    `${n(s.links)} links`,
    `${n(s.dead_letters)} dead letter${s.dead_letters === 1 ? "" : "s"}`,
    `${(s.elapsed_ms / 1000).toFixed(1)} s`,
  ];
  const line = `ics ▸ ${parts.join(" · ")}`;
  return line.length > columns - 1 ? line.slice(0, Math.max(0, columns - 2)) + "…" : line;
}

/** Events per second over a sliding window of about one second. */
export function rateMeter(windowMs = 1000) {
  const samples: { at: number; count: number }[] = [];
  return (at: number, count: number): number => {
    samples.push({ at, count });
    while (samples.length > 2 && at - samples[1].at >= windowMs) samples.shift();
    const first = samples[0];
    const dt = (at - first.at) / 1000;
    return dt > 0 ? (count - first.count) / dt : 0;
  };
}

export interface StatusLine {
  /** Begin redrawing from this telemetry (no-op when the line is off). */
  start(t: Telemetry): void;
  /** Erase the line (before printing something else); it comes back at the next redraw. */
  clear(): void;
  /** Erase the line and stop redrawing. */
  stop(): void;
}

/** A status line on stderr when `enabled` (the caller decides: a terminal and not --quiet). */
export function statusLine(enabled: boolean, intervalMs = 250): StatusLine {
  const encoder = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let shown = false;
  const write = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  const clear = () => {
    if (shown) write("\r\x1b[2K");
    shown = false;
  };
  return {
    start(t) {
      if (!enabled || timer !== undefined) return;
      const started = performance.now();
      const rate = rateMeter();
      const columns = (() => {
        try {
          const { columns } = Deno.consoleSize();
          return columns >= 20 ? columns : 80; // some pseudo-terminals report 0
        } catch {
          return 80;
        }
      })();
      const id = setInterval(() => {
        const now = performance.now();
        const events = t.get("events_received_total");
        write(
          "\r\x1b[2K" + formatStatus({
            elapsed_ms: now - started,
            events,
            rate: rate(now, events),
            lag: t.lag(),
            links: t.get("link_versions_total"),
            dead_letters: t.get("dlq_events_total"),
          }, columns),
        );
        shown = true;
      }, intervalMs);
      Deno.unrefTimer(id);
      timer = id;
    },
    clear,
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      clear();
    },
  };
}
