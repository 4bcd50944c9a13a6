/**
 * What `ics run` adds around a pipeline for operators: the HTTP endpoint (`/metrics`, `/healthz`,
 * `/readyz`) and the live status line.
 *
 * The endpoint's port: `--metrics-port`, else `observability.http_port`, else 8000 when the source
 * is a log (Kafka: a long-running service that Prometheus scrapes) and off for a file source. A file
 * run ends in seconds, before any scrape, and two local runs at once (tests, a second terminal)
 * would fight over one port; an operator who wants it sets the port.
 * @module
 */
import type { Pipeline } from "../runtime/mod.ts";
import { type Flags, number } from "./_flags.ts";
import { type Checked, serveTelemetry } from "../telemetry/http.ts";
import { statusLine } from "./_status.ts";

/** The flags of what `ics run` serves. */
export const OBSERVE = {
  "metrics-port": number("N", "serve /metrics, /healthz and /readyz on port N; 0 turns it off", {
    min: 0,
    max: 65_535,
    integer: true,
    defaultHelp: "observability.http_port, else 8000 for a Kafka source, off for a file",
  }),
} satisfies Flags;

/** The endpoint's port for this run (0: off); `flag` is `--metrics-port`. */
export function metricsPort(flag: number | undefined, p: Pipeline): number {
  if (flag !== undefined) return flag;
  const configured = p.spec.spec.observability.http_port;
  if (configured !== undefined) return configured;
  return p.spec.spec.targets[p.target].source.type === "file" ? 0 : 8000;
}

/** The components `/readyz` asks, by role. */
export function checkedComponents(p: Pipeline): Record<string, Checked> {
  const t = p.spec.spec.targets[p.target];
  return {
    source: { type: t.source.type, check: () => p.source.check() },
    dedup: {
      type: t.dedup.type,
      check: () => p.dedup.check(),
      // Worked around while down: the runner is degraded, not stopped.
      required: p.spec.spec.dedup.on_unavailable !== "sink_idempotency",
    },
    graph: { type: t.graph.type, check: () => p.graph.check() },
    metrics: { type: t.metrics.type, check: () => p.metrics.check() },
    dlq: { type: t.dlq.type, check: () => p.dlq.check() },
  };
}

export interface Observer {
  /** Erase the status line before printing a log line. */
  clear(): void;
  /** Stop the status line and the endpoint (idempotent). */
  stop(): Promise<void>;
}

/** A status line that exists before the pipeline does, so log lines can clear it. */
export function createObserver(quiet: boolean | undefined) {
  const status = statusLine(!quiet && Deno.stderr.isTerminal());
  let close: (() => Promise<void>) | undefined;
  const observer: Observer & { start(p: Pipeline, port: number): Promise<void> } = {
    clear: () => status.clear(),
    async start(p, port) {
      status.start(p.telemetry);
      if (port === 0) return;
      const endpoint = await serveTelemetry({
        port,
        hostname: p.spec.spec.observability.http_host,
        telemetry: p.telemetry,
        components: checkedComponents(p),
      });
      close = endpoint.close;
      p.ctx.log(
        "info",
        `serving http://${endpoint.hostname}:${endpoint.port}/metrics, /healthz and /readyz`,
      );
    },
    async stop() {
      status.stop();
      const c = close;
      close = undefined;
      await c?.();
    },
  };
  return observer;
}
