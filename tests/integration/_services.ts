/**
 * Where the integration tests find the services, and how they are gated. Addresses come from the
 * same environment variables as the `services` target, with the same defaults as
 * docker-compose.yml and infrastructure/services.sh. A test whose service is unreachable is
 * reported as ignored locally (visible in the summary, never silent) and FAILS when `CI` is set.
 * @module
 */
import { connect } from "node:net";

export const SERVICES = {
  kafka: Deno.env.get("KAFKA_BROKERS") ?? "127.0.0.1:9092",
  schema_registry: Deno.env.get("SCHEMA_REGISTRY_URL") ?? "http://127.0.0.1:8081/apis/ccompat/v7",
  redis: Deno.env.get("REDIS_URL") ?? "redis://127.0.0.1:6379",
  neo4j: Deno.env.get("NEO4J_URI") ?? "bolt://127.0.0.1:7687",
  postgres: Deno.env.get("POSTGRES_URL") ?? "postgres://postgres@127.0.0.1:5432/test",
} as const;

export type Service = keyof typeof SERVICES;

/** host:port of a service address (URL or host:port list). */
export function hostPort(service: Service): { host: string; port: number } {
  const address = SERVICES[service].split(",")[0];
  const url = address.includes("://") ? new URL(address) : new URL(`tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

/**
 * True when a TCP connection to the service opens within 5 s. Generous: the probe runs while the
 * test module's other imports evaluate, and on a loaded machine a 1 s timer fired before the
 * (long established) connection was seen, so a running service was reported as down.
 */
export function reachable(service: Service): Promise<boolean> {
  const { host, port } = hostPort(service);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(5000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Which services answer, probed once when a test module imports this file. */
export const available: Record<Service, boolean> = Object.fromEntries(
  await Promise.all(
    (Object.keys(SERVICES) as Service[]).map(async (s) => [s, await reachable(s)] as const),
  ),
) as Record<Service, boolean>;

/**
 * A test that needs services. Outside CI, unreachable services make it "ignored" (the runner
 * prints it); in CI they make it fail with a message naming the service and its address.
 */
export function serviceTest(
  name: string,
  needs: Service[],
  fn: (t: Deno.TestContext) => Promise<void>,
): void {
  const missing = needs.filter((s) => !available[s]);
  Deno.test({
    name,
    ignore: missing.length > 0 && !Deno.env.get("CI"),
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      if (missing.length) {
        throw new Error(
          `service unreachable: ${missing.map((s) => `${s} at ${SERVICES[s]}`).join(", ")} ` +
            `(start them with deno task services:up)`,
        );
      }
      await fn(t);
    },
  });
}
