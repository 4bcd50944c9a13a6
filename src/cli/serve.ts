/** `ics serve`: the GraphQL API over a target's stored graph, until SIGINT or SIGTERM. */
import { resolve } from "node:path";
import { createTelemetry } from "../telemetry/mod.ts";
import { serveTelemetry } from "../telemetry/http.ts";
import { load, openGraph, STORE, targetOf } from "./_common.ts";
import { command } from "./_command.ts";
import { number, string } from "./_flags.ts";
import { createLog } from "./_log.ts";

export const cli = command({
  name: "serve",
  summary: "serve the GraphQL API over a target's stored graph (/graphql)",
  about: `Serve the GraphQL API at http://HOST:PORT/graphql over the stored graph of a target (the
embedded SQLite file or Neo4j) and its dead-letter file, with /metrics, /healthz and /readyz beside
it, until SIGINT or SIGTERM. The schema is generated from the spec: a type per entity label,
relationship fields both ways, links with their evidence, explain, dead letters; every root takes
asOf (valid time) and knownAt (system time). Read-only. Without ICS_API_TOKEN it answers only
clients on this machine; with it, every request needs "Authorization: Bearer <token>". Limits,
CORS origins and the timeout are in the spec's api section (README: "Querying the graph").`,
  flags: {
    port: number("N", "port to listen on (0: any free port)", {
      min: 0,
      max: 65_535,
      integer: true,
      default: 4000,
    }),
    host: string("ADDR", "address to listen on", { default: "127.0.0.1" }),
    ...STORE,
  },
  exits: "0 stopped, 1 invalid spec, 2 bad usage (a port in use), 3 runtime failure.",
});

export async function main(args: string[]): Promise<number> {
  const { values } = cli.parse(args);
  const spec = await load(values.spec);
  const { target } = targetOf(spec, values.target);
  const log = createLog({ quiet: false });
  const store = await openGraph(spec, values.target, values.state);
  const telemetry = createTelemetry();
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals = ["SIGINT", "SIGTERM"] as const;
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    // Loaded here: the other commands never pay for GraphQL.
    const { createApi, deadLettersOf } = await import("../api/mod.ts");
    const api = createApi({
      spec,
      store,
      deadLetters: deadLettersOf(target.dlq, resolve(values.state ?? ".ics")),
      telemetry,
      log: (level, message) => log(level, message, { component: "http" }),
    });
    const endpoint = await serveTelemetry({
      port: values.port,
      hostname: values.host,
      telemetry,
      components: { graph: { type: target.graph.type, check: () => store.check() } },
      route: (request, remote) => api.handle(request, remote),
      portName: "port",
      portHint: "--port",
    });
    log("info", `serving http://${endpoint.hostname}:${endpoint.port}/graphql (explorer at /)`, {
      component: "http",
    });
    await new Promise<void>((done) => {
      if (controller.signal.aborted) done();
      controller.signal.addEventListener("abort", () => done(), { once: true });
    });
    await endpoint.close();
    return 0;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
    await store.close();
    log.close();
  }
}
