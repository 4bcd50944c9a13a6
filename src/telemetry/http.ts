/**
 * The observability endpoint: `/metrics` (Prometheus text format, written by prom-client),
 * `/healthz` (200 while the process lives; the body says which component the runtime is retrying
 * or working around) and `/readyz` (each component's `check()` and what the runtime saw: 503 while
 * a required component fails, is still starting (its service waited for) or its calls are being
 * retried, naming it).
 * @module
 */
import { UserError } from "../core/errors.ts";
import { redactError } from "../core/secrets.ts";
import type { Health, Telemetry } from "./mod.ts";

/** A component readiness depends on: its role, its `type:` and its health check. */
export interface Checked {
  type?: string;
  check(): Promise<void>;
  /**
   * Whether the pipeline stops without it (default true). Dedup under `on_unavailable:
   * sink_idempotency` is not: while it is down the runner is degraded, yet ready.
   */
  required?: boolean;
}

export interface EndpointOptions {
  port: number;
  /** Default 0.0.0.0: Prometheus scrapes from another host or container. */
  hostname?: string;
  telemetry: Telemetry;
  /** Components by role (source, dedup, graph, metrics, dlq). */
  components: Record<string, Checked>;
  /** A check slower than this counts as failed (default 2 s). */
  check_timeout_ms?: number;
  /**
   * More routes (the GraphQL API at `/graphql`): asked first; undefined passes the request on.
   * `remote` is the client's address.
   */
  route?: (request: Request, remote: Deno.Addr) => Promise<Response | undefined>;
  /** The port's name and how to choose another, for the port-in-use error. */
  portName?: string;
  portHint?: string;
}

export interface Endpoint {
  /** The port bound (the chosen one when asked for port 0). */
  port: number;
  hostname: string;
  close(): Promise<void>;
}

export interface ComponentReadiness {
  type?: string;
  /** `failed`: its check failed; `starting`/`retrying`/`degraded`: what the runtime reported. */
  status: "ok" | "failed" | "starting" | "retrying" | "degraded";
  /** Why the check failed. */
  error?: string;
  /** What the runtime saw, e.g. "connection refused (attempt 5)". */
  detail?: string;
}

export interface Readiness {
  /**
   * `ready`: every component ok; `degraded`: only components the pipeline works around are not
   * (still ready); `unavailable`: a required one fails or is being retried (503).
   */
  status: "ready" | "degraded" | "unavailable";
  /** Roles that are not ok. */
  degraded: string[];
  components: Record<string, ComponentReadiness>;
}

/** Ask every component for its health, each within the timeout, and add what the runtime saw. */
export async function readiness(
  components: Record<string, Checked>,
  timeoutMs = 2000,
  health?: Health,
): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(components).map(async ([role, c]) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      const seen = health?.get(role);
      const state: ComponentReadiness = { type: c.type, status: "ok" };
      if (seen && seen.status !== "ok") {
        state.status = seen.status;
        if (seen.detail) state.detail = seen.detail;
      }
      try {
        await Promise.race([c.check(), timeout]);
      } catch (error) {
        if (state.status === "ok") state.status = "failed";
        state.error = redactError(error);
      } finally {
        clearTimeout(timer);
      }
      return [role, state] as const;
    }),
  );
  const degraded = entries.filter(([, s]) => s.status !== "ok").map(([role]) => role);
  const down = degraded.some((role) => components[role].required !== false);
  return {
    status: down ? "unavailable" : degraded.length ? "degraded" : "ready",
    degraded,
    components: Object.fromEntries(entries),
  };
}

/** `/healthz`: what the runtime saw of each component, without asking them (cheap, no I/O). */
export function liveness(roles: string[], health: Health) {
  const components = Object.fromEntries(roles.map((role) => {
    const h = health.get(role);
    return [role, h.status === "ok" ? "ok" : `${h.status}: ${h.detail ?? "unknown"}`];
  }));
  const degraded = Object.values(components).some((s) => s !== "ok");
  return { status: degraded ? "degraded" : "alive", components };
}

/** Serve the endpoint until `close()`. A port in use is a user error naming the setting. */
export function serveTelemetry(options: EndpointOptions): Promise<Endpoint> {
  const hostname = options.hostname ?? "0.0.0.0";
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body, null, 2) + "\n", {
      status,
      headers: { "content-type": "application/json" },
    });
  const handler = async (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const routed = await options.route?.(request, info.remoteAddr);
    if (routed) return routed;
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    switch (pathname) {
      case "/metrics":
        return new Response(await options.telemetry.registry.metrics(), {
          headers: { "content-type": options.telemetry.registry.contentType },
        });
      case "/healthz":
        return json(liveness(Object.keys(options.components), options.telemetry.health));
      case "/readyz": {
        const r = await readiness(
          options.components,
          options.check_timeout_ms,
          options.telemetry.health,
        );
        return json(r, r.status === "unavailable" ? 503 : 200);
      }
      case "/":
        return new Response("ics: /metrics /healthz /readyz\n");
      default:
        return new Response("not found\n", { status: 404 });
    }
  };
  options.telemetry.collectProcessMetrics();
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        port: options.port,
        hostname,
        onListen: (addr) =>
          resolve({ port: addr.port, hostname: addr.hostname, close: () => server.shutdown() }),
      }, handler);
    } catch (error) {
      reject(
        error instanceof Deno.errors.AddrInUse
          ? new UserError(
            `${options.portName ?? "metrics port"} ${options.port} on ${hostname} is in use ` +
              "(choose another with " +
              (options.portHint ??
                "--metrics-port or observability.http_port; 0 turns the endpoint off") +
              ")",
          )
          : error,
      );
    }
  });
}
