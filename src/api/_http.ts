/**
 * GraphQL over HTTP at `/graphql` (graphql-yoga), safe by default:
 *
 * - read-only: the schema has no mutation; only GET and POST reach it;
 * - without `ICS_API_TOKEN` only clients on this machine (loopback) are answered; with it, every
 *   request needs `Authorization: Bearer <token>` (compared in constant time);
 * - limits before a query runs: depth and aliases (GraphQL Armor), cost (graphql-query-complexity:
 *   a list field costs `first` times what it selects), request body size; while it runs: a timeout
 *   after which it is answered with an error and reads nothing more;
 * - CORS off unless origins are configured;
 * - errors are GraphQL errors with one clear message (secrets masked), never a stack trace.
 * @module
 */
import { createYoga, type Plugin } from "graphql-yoga";
import {
  type DefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
} from "graphql";
import { getComplexity } from "graphql-query-complexity";
import { maxDepthPlugin } from "@escape.tech/graphql-armor-max-depth";
import { maxAliasesPlugin } from "@escape.tech/graphql-armor-max-aliases";
import type { ApiConfig } from "../compiler/mod.ts";
import { redact } from "../core/secrets.ts";
import type { ApiContext } from "./_context.ts";

/** Largest request body (a query and its variables). */
const MAX_BODY = 256 * 1024;
const DEFAULT_FIRST = 20;

export interface HttpOptions {
  schema: GraphQLSchema;
  config: ApiConfig;
  /** Bearer token every request must carry; absent: loopback clients only. */
  token?: string;
  /** A fresh context per request; `guard()` throws once the request has timed out. */
  context(guard: () => void): ApiContext;
  /** Called once per request with its kind (the root field, `multiple`, `invalid`) and seconds. */
  observe?(kind: string, seconds: number): void;
  log?(level: "warn" | "error", message: string): void;
}

export interface GraphqlHandler {
  /** The response to a request for `/graphql`; undefined for any other path. */
  handle(request: Request, remote?: Deno.Addr): Promise<Response | undefined>;
}

const json = (status: number, message: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ errors: [{ message }] }) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

/** Whether an address is this machine's (127.0.0.0/8, ::1, or either mapped). */
export function isLoopback(addr: Deno.Addr | undefined): boolean {
  if (!addr || addr.transport !== "tcp" && addr.transport !== "udp") return addr === undefined;
  const host = addr.hostname.replace(/^\[|\]$/g, "");
  return /^127\./.test(host) || host === "::1" || /^::ffff:127\./i.test(host);
}

/** Equal strings, in time independent of where they differ. */
function same(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** The kind of an operation, for the request metric: its root field, or `multiple`. */
function kindOf(op: OperationDefinitionNode | undefined): string {
  const roots = new Set(
    op?.selectionSet.selections.map((s) =>
      s.kind === Kind.FIELD
        ? (s.name.value.startsWith("__") ? "introspection" : s.name.value)
        : "multiple"
    ) ?? [],
  );
  return roots.size === 1 ? [...roots][0] : roots.size ? "multiple" : "invalid";
}

/** A body's bytes, or null when it passes `max` (reading stops there). */
async function readLimited(
  stream: ReadableStream<Uint8Array>,
  max: number,
): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > max) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) out.set(c, at), at += c.length;
  return out;
}

interface Served {
  api: ApiContext;
  kind: string;
}

export function graphqlHandler(o: HttpOptions): GraphqlHandler {
  const { config } = o;
  const cost: Plugin = {
    onExecute({ args, setResultAndStopExecution }) {
      const op = args.document.definitions.find((d: DefinitionNode): d is OperationDefinitionNode =>
        d.kind === Kind.OPERATION_DEFINITION &&
        (!args.operationName || d.name?.value === args.operationName)
      );
      (args.contextValue as unknown as { served: Served }).served.kind = kindOf(op);
      const complexity = getComplexity({
        schema: args.schema,
        query: args.document,
        variables: args.variableValues ?? {},
        operationName: args.operationName ?? undefined,
        estimators: [
          ({ field, args: a, childComplexity }) =>
            field.args.some((x) => x.name === "first")
              ? 1 + (typeof a.first === "number" ? a.first : DEFAULT_FIRST) * childComplexity
              : 1 + childComplexity,
        ],
      });
      if (complexity > config.max_cost) {
        setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `the query's estimated cost ${complexity} is over api.max_cost ${config.max_cost}: ` +
                "ask for smaller pages (first) or fewer nested lists",
              { extensions: { code: "QUERY_TOO_COSTLY" } },
            ),
          ],
        });
      }
    },
  };
  const yoga = createYoga<{ served: Served }, ApiContext>({
    schema: o.schema,
    graphqlEndpoint: "/graphql",
    graphiql: false,
    landingPage: false,
    batching: false,
    logging: false,
    cors: config.cors_origins.length
      ? {
        origin: config.cors_origins.includes("*") ? "*" : config.cors_origins,
        methods: ["GET", "POST"],
        allowedHeaders: ["content-type", "authorization"],
      }
      : false,
    context: ({ served }) => Object.assign(served.api, { served }),
    maskedErrors: {
      isDev: false,
      maskError(error) {
        const original = (error as GraphQLError).originalError;
        const cause = original instanceof GraphQLError ? original : undefined;
        if (!(error instanceof GraphQLError) || (original && !cause)) {
          o.log?.(
            "warn",
            `GraphQL request failed: ${redact(String((original ?? error as Error)?.message))}`,
          );
        }
        const message = redact((original ?? error as Error)?.message ?? String(error));
        return new GraphQLError(message, {
          nodes: (error as GraphQLError).nodes,
          path: (error as GraphQLError).path,
          extensions: {
            code: cause?.extensions?.code ?? (error as GraphQLError).extensions?.code ??
              (original ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST"),
          },
        });
      },
    },
    plugins: [
      maxDepthPlugin({ n: config.max_depth, exposeLimits: true, flattenFragments: true }),
      maxAliasesPlugin({ n: config.max_aliases, exposeLimits: true }),
      cost,
    ],
  });

  return {
    async handle(request, remote) {
      const url = new URL(request.url);
      if (url.pathname !== "/graphql") return undefined;
      const started = performance.now();
      const preflight = request.method === "OPTIONS" && config.cors_origins.length > 0;
      if (!preflight) {
        if (o.token !== undefined) {
          const given = request.headers.get("authorization") ?? "";
          if (!same(given, `Bearer ${o.token}`)) {
            return json(
              401,
              "missing or wrong bearer token (Authorization: Bearer <ICS_API_TOKEN>)",
              {
                "www-authenticate": 'Bearer realm="ics"',
              },
            );
          }
        } else if (!isLoopback(remote)) {
          return json(
            403,
            "without ICS_API_TOKEN the API answers only clients on this machine; set ICS_API_TOKEN " +
              "and send it as a bearer token",
          );
        }
        if (request.method !== "GET" && request.method !== "POST") {
          return json(405, "the API takes GET and POST", { allow: "GET, POST" });
        }
      }
      // The body is read here, within its limit (a body without a length is counted as it comes);
      // yoga gets a request of its own (Deno's request signal stays untouched).
      const body = request.body ? await readLimited(request.body, MAX_BODY) : undefined;
      if (body === null) return json(413, `a request body is at most ${MAX_BODY} bytes`);
      const forwarded = new Request(request.url, {
        method: request.method,
        headers: request.headers,
        body,
      });
      let timedOut = false;
      const guard = () => {
        if (timedOut) {
          throw new GraphQLError("the query timed out", { extensions: { code: "TIMEOUT" } });
        }
      };
      let served: Served;
      try {
        served = { api: o.context(guard), kind: "invalid" };
      } catch (error) {
        return json(503, redact((error as Error).message));
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<Response>((resolve) => {
        timer = setTimeout(() => {
          timedOut = true;
          resolve(
            new Response(
              JSON.stringify({
                errors: [{
                  message: `the query ran longer than api.timeout_ms (${config.timeout_ms} ms) ` +
                    "and was stopped: ask for less (smaller pages, an iteration, fewer nested lists)",
                  extensions: { code: "TIMEOUT" },
                }],
              }) + "\n",
              { status: 200, headers: { "content-type": "application/json" } },
            ),
          );
        }, config.timeout_ms);
      });
      try {
        return await Promise.race([yoga.fetch(forwarded, { served }), timeout]);
      } finally {
        clearTimeout(timer);
        o.observe?.(timedOut ? "timeout" : served.kind, (performance.now() - started) / 1000);
      }
    },
  };
}
