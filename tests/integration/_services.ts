/**
 * Where the integration tests find the services, and how they are gated. Addresses come from the
 * same environment variables as the `services` target, with the same defaults as
 * docker-compose.yml and infrastructure/services.sh. A test whose service is unreachable is
 * reported as ignored locally (visible in the summary, never silent) and FAILS when `CI` is set.
 * @module
 */
import { connect } from "node:net";
import { ADDRESS_VARIABLES, DEFAULT_ADDRESSES, parseHostPort, type Service } from "./_addresses.ts";

export type { Service };

/** Where the tests reach each service: its variable, else the default address. */
export const SERVICES = Object.fromEntries(
  (Object.keys(DEFAULT_ADDRESSES) as Service[]).map((s) => [
    s,
    Deno.env.get(ADDRESS_VARIABLES[s]) ?? DEFAULT_ADDRESSES[s],
  ]),
) as Record<Service, string>;

/** host:port of a service address (URL or host:port list). */
export function hostPort(service: Service): { host: string; port: number } {
  return parseHostPort(SERVICES[service]);
}

/**
 * True when a TCP connection to the service opens within three seconds, in one of two tries (a
 * refused connection fails at once either way; a loaded machine can stall the first).
 */
export async function reachable(service: Service): Promise<boolean> {
  return await probe(service) || await probe(service);
}

async function probe(service: Service): Promise<boolean> {
  const { host, port } = hostPort(service);
  // Start the clock only once the event loop turns: a test module's other imports are evaluated
  // (synchronously, for seconds on a loaded machine) after this module's top-level await began,
  // and a timer started before them expires before the connection can be seen.
  await new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(3000, () => done(false));
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
