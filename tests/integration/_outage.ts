/**
 * Shared by the outage tests: a private copy of the spec with the bundled samples under
 * iteration ids of their own, a target whose stores are reached through outage proxies, the
 * runner in this process (so a test can time a fault to a batch and read the telemetry), and a
 * comparable form of a stored graph.
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { copy } from "../_copy.ts";
import { loadSpec } from "../../src/compiler/mod.ts";
import { compile, type Pipeline, run } from "../../src/runtime/mod.ts";
import type { GraphStore } from "../../src/core/component.ts";
import { canonicalVersion } from "../../src/graph/checksum.ts";
import { SERVICES } from "./_services.ts";

const root = new URL("../..", import.meta.url).pathname;

export interface Workspace {
  dir: string;
  specFile: string;
  /** The samples, their iteration ids prefixed (Neo4j is shared). */
  input: string;
  /** Iteration ids of the input. */
  iterations: string[];
  /** Lines of the input (valid or not). */
  lines: number;
  /** Log lines of runs made with {@link runPipeline}. */
  logs: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A temporary copy of the spec, rules and schemas, and the samples with their iteration ids
 * prefixed by `prefix`; `edit` changes the parsed pipeline.yaml (targets, runtime) before it is
 * written. The `local` target reads the input in batches of `batch` records, like the tests'.
 */
export async function workspace(
  prefix: string,
  // deno-lint-ignore no-explicit-any
  edit: (spec: Record<string, any>, ws: { dir: string; input: string }) => void,
  options: { batch?: number; transform?: (lines: string[]) => string[] } = {},
): Promise<Workspace> {
  const dir = await Deno.makeTempDir({ prefix: "ics-outage-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
  const input = join(dir, "input.jsonl");
  let lines = (await Deno.readTextFile(join(root, "samples/events.jsonl"))).split("\n")
    .filter((l) => l.trim()).map((l) => l.replaceAll("it-000", `${prefix}-it-000`));
  if (options.transform) lines = options.transform(lines);
  await Deno.writeTextFile(input, lines.join("\n") + "\n");
  const specFile = join(dir, "pipeline.yaml");
  const spec = parse(await Deno.readTextFile(specFile));
  spec.targets.local.source = { type: "file", path: input, batch_size: options.batch ?? 20 };
  edit(spec, { dir, input });
  await Deno.writeTextFile(specFile, stringify(spec));
  return {
    dir,
    specFile,
    input,
    iterations: ["0001", "0002", "0003"].map((n) => `${prefix}-it-${n}`),
    lines: lines.length,
    logs: [],
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Compile a target of the workspace's spec, its log lines going to `ws.logs`. */
export async function pipeline(ws: Workspace, target: string, state: string): Promise<Pipeline> {
  const { spec, errors } = await loadSpec(ws.specFile);
  assert.ok(spec, `spec copy invalid: ${JSON.stringify(errors)}`);
  return await compile(spec, {
    target,
    stateDir: join(ws.dir, state),
    log: (level, message) => {
      ws.logs.push(`${level}: ${message}`);
      if (Deno.env.get("ICS_TEST_LOG")) console.error(new Date().toISOString(), level, message);
    },
  });
}

/** Run a pipeline to the end of its input and close it. */
export async function runPipeline(p: Pipeline, signal?: AbortSignal) {
  try {
    return await run(p, signal);
  } finally {
    await p.close();
  }
}

/**
 * Every version of the iterations, history included, without what depends on the wall clock
 * (version ids, observed_at, superseded_at): two runs over the same batches compare equal.
 */
export async function graphOf(store: GraphStore, iterations: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const iteration_id of iterations) {
    for (const v of await store.query({ iteration_id, history: true })) {
      out.push(JSON.stringify([canonicalVersion(v), v.superseded_at === null]));
    }
  }
  return out.sort();
}

/** What the embedded target makes of the workspace's input (the reference). */
export async function expected(ws: Workspace) {
  const p = await pipeline(ws, "local", "expected");
  try {
    const { telemetry: t } = await run(p);
    return {
      graph: await graphOf(p.graph, ws.iterations),
      processed: t.get("events_processed_total"),
      dropped: t.get("dedup_dropped_total"),
      letters: await letters(join(ws.dir, "expected")),
    };
  } finally {
    await p.close();
  }
}

/** Categories of the dead letters in a state folder's dlq.jsonl, in order. */
export async function letters(state: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(state, "dlq.jsonl")).catch(() => "");
  return text.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l).category);
}

/** Delete the iterations' nodes from the shared Neo4j. */
export async function deleteFromNeo4j(iterations: string[]) {
  // Imported here: evaluating the driver while _services.ts probes the services (a top-level
  // await) can outlast the probes' timeout and get the tests ignored.
  const { default: neo4j } = await import("neo4j-driver");
  const driver = neo4j.driver(SERVICES.neo4j);
  try {
    await driver.executeQuery(
      "MATCH (n:Entity) WHERE n.iteration_id IN $ids OPTIONAL MATCH (v:NodeVersion)-[:VERSION_OF]->(n) DETACH DELETE v, n",
      {
        ids: iterations,
      },
    );
  } finally {
    await driver.close();
  }
}

/** Resolves once `condition()` holds (checked every 20 ms), or rejects after `ms`. */
export async function until(condition: () => boolean, what: string, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
