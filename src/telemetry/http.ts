/**
 * The observability endpoint: `/metrics` (Prometheus text format, written by prom-client),
 * `/healthz` (the process is alive) and `/readyz` (every source and sink answers its `check()`;
 * 503 naming the degraded components otherwise).
 * @module
 */
import { UserError } from "../core/errors.ts";
import { redactError } from "../core/secrets.ts";
import type { Telemetry } from "./mod.ts";

/** A component readiness depends on: its role, its `type:` and its health check. */
export interface Checked {
  type?: string;
  check(): Promise<void>;
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
}

export interface Endpoint {
  /** The port bound (the chosen one when asked for port 0). */
  port: number;
  hostname: string;
  close(): Promise<void>;
}

export interface Readiness {
  status: "ready" | "degraded";
  /** Roles whose check failed. */
  degraded: string[];
  components: Record<string, { type?: string; status: "ok" | "failed"; error?: string }>;
}

/** Ask every component for its health, each within the timeout. */
export async function readiness(
  components: Record<string, Checked>,
  timeoutMs = 2000,
): Promise<Readiness> {
  const entries = await Promise.all(
    Object.entries(components).map(async ([role, c]) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([c.check(), timeout]);
        return [role, { type: c.type, status: "ok" as const }] as const;
      } catch (error) {
        const message = redactError(error);
        return [role, { type: c.type, status: "failed" as const, error: message }] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const degraded = entries.filter(([, s]) => s.status === "failed").map(([role]) => role);
  return {
    status: degraded.length ? "degraded" : "ready",
    degraded,
    components: Object.fromEntries(entries),
  };
}

/** Serve the endpoint until `close()`. A port in use is a user error naming the setting. */
export function serveTelemetry(options: EndpointOptions): Promise<Endpoint> {
  const hostname = options.hostname ?? "0.0.0.0";
  const json = (body: unknown, status = 200) =>
    new Response(JSON.stringify(body, null, 2) + "\n", {
      status,
      headers: { "content-type": "application/json" },
    });
  const handler = async (request: Request): Promise<Response> => {
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
        return json({ status: "alive" });
      case "/readyz": {
        const r = await readiness(options.components, options.check_timeout_ms);
        return json(r, r.status === "ready" ? 200 : 503);
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
            `metrics port ${options.port} on ${hostname} is in use (choose another with ` +
              `--metrics-port or observability.http_port; 0 turns the endpoint off)`,
          )
          : error,
      );
    }
  });
}
