/**
 * The GraphQL API over a target's stored graph and dead letters (issue #12): its schema is
 * generated from the compiled spec (`_model.ts`, `_sdl.ts`), its resolvers read the graph store's
 * read side (`GraphReader`) with per-request batching (`_loaders.ts`), and `_http.ts` serves it at
 * `/graphql` with its limits. `ics serve` runs it on its own; `ics run` mounts it on its
 * observability endpoint. The explorer page (`explorer/`) is served beside it at `/`.
 * @module
 */
import { resolve } from "node:path";
import { createSchema } from "graphql-yoga";
import type { GraphQLSchema } from "graphql";
import type { GraphStore } from "../core/component.ts";
import type { CompiledSpec } from "../compiler/types.ts";
import { createEngine } from "../correlation/mod.ts";
import { rememberSecret } from "../core/secrets.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import { apiModel } from "./_model.ts";
import { sdl } from "./_sdl.ts";
import { resolvers } from "./_resolvers.ts";
import { createLoaders } from "./_loaders.ts";
import { type DeadLetterSource, fileDeadLetters, unreadDeadLetters } from "./_dead_letters.ts";
import { type GraphqlHandler, graphqlHandler, isLoopback } from "./_http.ts";
import { explorerHandler } from "./explorer/mod.ts";

export { apiModel, isLoopback, sdl };
export type { DeadLetterSource, GraphqlHandler };

/** The environment variable holding the API's bearer token. */
export const TOKEN_VARIABLE = "ICS_API_TOKEN";

/** The executable schema of a spec's API (no store needed: for tests and tools). */
export function apiSchema(spec: CompiledSpec): GraphQLSchema {
  const model = apiModel(spec);
  // deno-lint-ignore no-explicit-any
  return createSchema<any>({ typeDefs: sdl(model), resolvers: resolvers({ model }) });
}

/** The dead letters of a target's queue, as the API reads them. */
export function deadLettersOf(
  dlq: { type: string; path?: string; topic?: string },
  stateDir: string,
): DeadLetterSource {
  return dlq.type === "file"
    ? fileDeadLetters(resolve(stateDir, dlq.path ?? "dlq.jsonl"))
    : unreadDeadLetters(`the Kafka topic "${dlq.topic}"`);
}

export interface ApiOptions {
  spec: CompiledSpec;
  /** The graph store; a function while it may not be open yet (`ics run` starting). */
  store: GraphStore | (() => GraphStore | undefined);
  deadLetters: DeadLetterSource;
  /** The bearer token; default: `ICS_API_TOKEN` from the environment (empty: none). */
  token?: string;
  telemetry?: Telemetry;
  log?: (level: "warn" | "error", message: string) => void;
  /** Serve the explorer page at `/` too (default true). */
  explorer?: boolean;
}

/** The `/graphql` handler of a spec over a store, with the explorer at `/`. */
export function createApi(o: ApiOptions): GraphqlHandler {
  const model = apiModel(o.spec);
  const schema = createSchema({ typeDefs: sdl(model), resolvers: resolvers({ model }) });
  const engine = createEngine({
    rules: o.spec.rules,
    combine: o.spec.combine,
    min_confidence: o.spec.min_confidence,
    policy: o.spec.policy,
  });
  const token = (o.token ?? Deno.env.get(TOKEN_VARIABLE)) || undefined;
  rememberSecret(token);
  const config = o.spec.spec.api;
  const storeOf = typeof o.store === "function" ? o.store : () => o.store as GraphStore;
  const graphql = graphqlHandler({
    schema,
    config,
    token,
    log: o.log,
    observe: (kind, seconds) =>
      o.telemetry?.observe("graphql_request_duration_seconds", seconds, { kind }),
    context(guard) {
      const store = storeOf();
      if (!store) throw new Error("the graph store is not open yet: try again in a moment");
      return {
        store,
        spec: o.spec,
        model,
        engine,
        deadLetters: o.deadLetters,
        maxPage: config.max_page_size,
        loaders: createLoaders(store, guard),
      };
    },
  });
  if (o.explorer === false) return graphql;
  // The page and its files hold no data (that is read through /graphql, with its auth), so they
  // are served to any client.
  const explorer = explorerHandler(o.spec);
  return {
    handle: async (request, remote) =>
      (await explorer.handle(request)) ?? graphql.handle(request, remote),
  };
}
