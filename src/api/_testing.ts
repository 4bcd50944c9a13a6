/**
 * Test support for the API: the bundled samples run through the embedded target into a state
 * folder of their own (once per test process), and a request helper.
 * @module
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { type CompiledSpec, loadSpec } from "../compiler/mod.ts";
import { compile, run } from "../runtime/mod.ts";
import type { GraphStore } from "../core/component.ts";
import { openSqliteGraph } from "../sinks/sqlite_graph.ts";
import type { GraphqlHandler } from "./mod.ts";

export const ROOT = new URL("../..", import.meta.url).pathname;

export async function loadRootSpec(file = "pipeline.yaml"): Promise<CompiledSpec> {
  const { spec, errors } = await loadSpec(resolve(ROOT, file));
  if (!spec) throw new Error(JSON.stringify(errors));
  return spec;
}

let samples: Promise<{ spec: CompiledSpec; state: string }> | undefined;

/** The samples run once through the local target (SQLite graph, dead-letter file) in a temp folder. */
export function samplesState(): Promise<{ spec: CompiledSpec; state: string }> {
  samples ??= (async () => {
    const spec = await loadRootSpec();
    const state = await Deno.makeTempDir({ prefix: "ics-api-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(state, { recursive: true }));
    // Small batches: late events arrive in later batches and close versions of earlier ones.
    const source = spec.spec.targets.local.source;
    if (source.type === "file") source.batch_size = 25;
    const p = await compile(spec, { target: "local", stateDir: state, log: () => {} });
    await run(p);
    await p.close();
    return { spec, state };
  })();
  return samples;
}

export function openSamplesGraph(state: string): GraphStore {
  return openSqliteGraph(join(state, "graph.db"));
}

export const LOCAL: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40_000 };

export interface Answer {
  status: number;
  headers: Headers;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** POST a query to `/graphql` of a handler, from this machine unless `remote` says otherwise. */
export async function ask(
  api: GraphqlHandler,
  query: string,
  variables: Record<string, unknown> = {},
  init: { headers?: Record<string, string>; remote?: Deno.Addr } = {},
): Promise<Answer> {
  const response = await api.handle(
    new Request("http://127.0.0.1/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...init.headers },
      body: JSON.stringify({ query, variables }),
    }),
    init.remote ?? LOCAL,
  );
  if (!response) throw new Error("not a /graphql request");
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) };
}

/** The data of an answer, failing on any error. */
// deno-lint-ignore no-explicit-any
export async function data(api: GraphqlHandler, query: string, variables = {}): Promise<any> {
  const a = await ask(api, query, variables);
  if (a.status !== 200 || a.body.errors) {
    throw new Error(`${a.status} ${JSON.stringify(a.body.errors)}`);
  }
  return a.body.data;
}

/**
 * `ics serve` on a state folder in a child process, on a free port: its URL once it says it is
 * serving, and stop() (SIGTERM, then exit code 0 asserted).
 */
export async function startServe(
  state: string,
  token = "",
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...["--allow-read", "--allow-write", "--allow-env", "--allow-net", "--allow-sys"],
      join(ROOT, "src/cli/main.ts"),
      ...["serve", "--state", state, "--port", "0"],
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
    env: { ICS_API_TOKEN: token },
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await lines.read();
    if (done) break;
    seen += value;
    url = /serving (http:\/\/127\.0\.0\.1:\d+)\/graphql/.exec(seen)?.[1];
  }
  // Keep reading so the child never blocks on a full pipe.
  const drained = (async () => {
    while (!(await lines.read()).done);
  })();
  return {
    url: url ?? assert.fail(`ics serve did not start: ${seen}`),
    async stop() {
      child.kill("SIGTERM");
      const status = await child.status;
      await drained;
      assert.equal(status.code, 0);
    },
  };
}
