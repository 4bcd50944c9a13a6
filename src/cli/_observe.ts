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
import { boolean, type Flags, number } from "./_flags.ts";
import type { CompiledSpec } from "../compiler/mod.ts";
import type { Context } from "../core/component.ts";
import type { Telemetry } from "../telemetry/mod.ts";
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
  "no-api": boolean(
    "do not serve the GraphQL API at /graphql on that port (api.enabled: false in the spec, always)",
  ),
} satisfies Flags;

/** The endpoint's port for a run of a target (0: off); `flag` is `--metrics-port`. */
export function metricsPort(flag: number | undefined, spec: CompiledSpec, target: string): number {
  if (flag !== undefined) return flag;
  const configured = spec.spec.observability.http_port;
  if (configured !== undefined) return configured;
  const t = Object.hasOwn(spec.spec.targets, target) ? spec.spec.targets[target] : undefined;
  return !t || t.source.type === "file" ? 0 : 8000;
}

/** The components `/readyz` asks, by role. */
export function checkedComponents(p: Pipeline): Record<string, Checked> {
  return components(p.spec, p.target, () => p);
}

/**
 * The components of a target, asked through the pipeline once there is one. Until then (the
 * runner is starting) a check passes, and what the runtime reports decides (`starting`, naming
 * what it waits for).
 */
function components(
  spec: CompiledSpec,
  target: string,
  pipeline: () => Pipeline | undefined,
): Record<string, Checked> {
  const t = spec.spec.targets[target];
  const check = (role: "source" | "dedup" | "graph" | "metrics" | "dlq") => () =>
    pipeline()?.[role].check() ?? Promise.resolve();
  return {
    source: { type: t.source.type, check: check("source") },
    dedup: {
      type: t.dedup.type,
      check: check("dedup"),
      // Worked around while down: the runner is degraded, not stopped.
      required: spec.spec.dedup.on_unavailable !== "sink_idempotency",
    },
    graph: { type: t.graph.type, check: check("graph") },
    metrics: { type: t.metrics.type, check: check("metrics") },
    dlq: { type: t.dlq.type, check: check("dlq") },
  };
}

export interface Observer {
  /** Erase the status line before printing a log line. */
  clear(): void;
  /** Stop the status line and the endpoint (idempotent). */
  stop(): Promise<void>;
}

/** What the endpoint serves before the pipeline exists: it starts with the runner. */
export interface Serving {
  spec: CompiledSpec;
  target: string;
  telemetry: Telemetry;
  port: number;
  /** The pipeline, once compiled. */
  pipeline: () => Pipeline | undefined;
  log: Context["log"];
  /** Serve the GraphQL API at /graphql too, over the pipeline's graph and this state folder. */
  api?: { stateDir: string };
}

/** A status line that exists before the pipeline does, so log lines can clear it. */
export function createObserver(quiet: boolean | undefined) {
  const status = statusLine(!quiet && Deno.stderr.isTerminal());
  let close: (() => Promise<void>) | undefined;
  const observer: Observer & {
    /** Serve the endpoint (port 0: no endpoint), while the components start and after. */
    serve(s: Serving): Promise<void>;
    /** Show the status line of a running pipeline. */
    attach(p: Pipeline): void;
    /** Both at once, for a compiled pipeline. */
    start(p: Pipeline, port: number): Promise<void>;
  } = {
    clear: () => status.clear(),
    async serve(s) {
      if (s.port === 0) return;
      const api = s.api ? await graphqlOf(s, s.api.stateDir) : undefined;
      const endpoint = await serveTelemetry({
        port: s.port,
        hostname: s.spec.spec.observability.http_host,
        telemetry: s.telemetry,
        components: components(s.spec, s.target, s.pipeline),
        route: api ? (request, remote) => api.handle(request, remote) : undefined,
      });
      close = endpoint.close;
      s.log(
        "info",
        `serving http://${endpoint.hostname}:${endpoint.port}/metrics, /healthz` +
          (api ? ", /readyz and /graphql" : " and /readyz"),
        { component: "http" },
      );
    },
    attach(p) {
      status.start(p.telemetry);
    },
    async start(p, port) {
      observer.attach(p);
      await observer.serve({
        spec: p.spec,
        target: p.target,
        telemetry: p.telemetry,
        port,
        pipeline: () => p,
        log: p.ctx.log,
      });
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

/**
 * The GraphQL API over the pipeline's graph store (`/graphql`), loaded only when served: a run
 * without it never pays for GraphQL.
 */
async function graphqlOf(s: Serving, stateDir: string) {
  const { createApi, deadLettersOf } = await import("../api/mod.ts");
  return createApi({
    spec: s.spec,
    store: () => s.pipeline()?.graph,
    deadLetters: deadLettersOf(s.spec.spec.targets[s.target].dlq, stateDir),
    telemetry: s.telemetry,
    log: (level, message) => s.log(level, message, { component: "http" }),
  });
}
