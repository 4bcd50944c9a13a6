/**
 * In-memory evaluation of a correlation policy: a list of events goes through the real pipeline
 * (the runtime's `compile()` and `run()`: decoder, validation, dedup, mapper, graph model and
 * correlation engine) into an in-memory SQLite graph, and the links it holds at the end come
 * back as rows with their endpoints. Nothing is re-implemented here: the components are those of
 * `ics run`; only the source (an array), the graph (SQLite `:memory:`), the dedup store (memory),
 * the metrics (none) and the dead-letter queue (a list) differ.
 * @module
 */
import type { CompiledSpec } from "../compiler/mod.ts";
import type { DeadLetter, RawRecord, RuleEvidence, Version } from "../core/types.ts";
import type { DeadLetterQueue, MetricsStore, Source } from "../core/component.ts";
import { join } from "node:path";
import { NotAFile } from "../yaml/mod.ts";
import { compile, type Pipeline, run } from "../runtime/mod.ts";
import type { EntityView } from "../correlation/mod.ts";
import { describeLink, entityId, entityViews } from "../graph/mod.ts";
import { openSqliteGraph } from "../sinks/sqlite_graph.ts";
import type { Telemetry } from "../telemetry/mod.ts";

/** An event object (its JSON form: README, Events) or the raw bytes of one JSON line. */
export type EventInput = Record<string, unknown> | Uint8Array;

/** A node's identity, as in `ics links`. */
export interface Endpoint {
  label: string;
  iteration_id: string;
  key: string[];
}

/** A correlation link believed at the end of the evaluation. */
export interface LinkRow {
  /** Oriented as the first contributing rule's left side, like `ics links`. */
  from: Endpoint;
  to: Endpoint;
  iteration_id: string;
  confidence: number;
  rules: RuleEvidence[];
  policy: string;
}

export interface EvaluateOptions {
  /** Records per batch (default 5000). 1 makes every event its own batch. */
  batchSize?: number;
  /** Name used in dead-letter positions (default `<events>`). */
  source?: string;
}

export interface Evaluation {
  policy: string;
  links: LinkRow[];
  /** Entity views at the end, by entity id (see {@link entityId}), for `explain`. */
  entities: Map<string, EntityView>;
  deadLetters: DeadLetter[];
  telemetry: Telemetry;
  elapsed_ms: number;
}

/** Run `spec`'s pipeline over `events` entirely in memory and return the links it makes. */
export async function evaluate(
  spec: CompiledSpec,
  events: readonly EventInput[],
  options: EvaluateOptions = {},
): Promise<Evaluation> {
  const batchSize = Math.max(1, options.batchSize ?? 5000);
  const path = options.source ?? "<events>";
  const dead: DeadLetter[] = [];
  const encoder = new TextEncoder();
  const source: Source = {
    async *batches(signal) {
      for (let i = 0; i < events.length && !signal.aborted; i += batchSize) {
        const records: RawRecord[] = [];
        for (let j = i; j < Math.min(events.length, i + batchSize); j++) {
          const e = events[j];
          records.push({
            value: e instanceof Uint8Array ? e : encoder.encode(JSON.stringify(e)),
            format: "json",
            position: { kind: "file", path, line: j + 1 },
          });
        }
        yield { records, ack: () => Promise.resolve() };
        await Promise.resolve();
      }
    },
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const metrics: MetricsStore = {
    write: () => Promise.resolve(),
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const dlq: DeadLetterQueue = {
    write(letters) {
      dead.push(...letters);
      return Promise.resolve();
    },
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  // compile() builds everything the runtime needs (decoder, mapper, engine, telemetry, ...), so
  // this stays in step with `ics run`; the I/O components are then swapped for in-memory ones.
  // compile() still opens its stores, in a temporary folder that is removed afterwards.
  const state = await Deno.makeTempDir({ prefix: "ics-evaluate-" });
  // compile() checks that the file source's input exists; it is never read.
  await Deno.writeTextFile(join(state, "unused.jsonl"), "");
  const graph = openSqliteGraph(":memory:");
  let compiled: Pipeline | undefined;
  try {
    compiled = await compile(inMemory(spec, join(state, "unused.jsonl")), {
      target: TARGET,
      stateDir: state,
    });
    const pipeline: Pipeline = {
      ...compiled,
      source,
      graph,
      metrics,
      dlq,
      modelStore: graph,
    };
    const result = await run(pipeline);
    const entities = entityViews(await graph.query({ kind: "node" }));
    const links = rows(await graph.query({ kind: "link" }), entities, spec);
    return {
      policy: spec.policy,
      links,
      entities,
      deadLetters: dead,
      telemetry: result.telemetry,
      elapsed_ms: result.elapsed_ms,
    };
  } finally {
    await compiled?.close();
    await graph.close();
    await Deno.remove(state, { recursive: true }).catch(() => {});
  }
}

const TARGET = "ics-evaluate";

/** The spec with one extra target of embedded components (and tracing off). */
function inMemory(spec: CompiledSpec, unused: string): CompiledSpec {
  const s = spec.spec;
  const base = s.targets[s.default_target] ?? Object.values(s.targets)[0];
  const target = {
    ...base,
    source: { type: "file", path: unused, format: "jsonl", batch_size: 1 },
    dedup: { type: "memory", max_entries: 2 ** 31 },
    graph: { type: "sqlite", path: "graph.db" },
    metrics: { type: "sqlite", path: "metrics.db" },
    dlq: { type: "file", path: "dlq.jsonl" },
  } as typeof base;
  return {
    ...spec,
    spec: {
      ...s,
      targets: { ...s.targets, [TARGET]: target },
      observability: {
        ...s.observability,
        tracing: { ...s.observability.tracing, enabled: false },
      },
    },
  };
}

/**
 * The lines of a JSON Lines file as raw bytes (blank lines skipped), as the file source reads them.
 * Only a regular file: a FIFO or a device would never end.
 */
export async function readJsonl(path: string): Promise<Uint8Array[]> {
  if (!(await Deno.stat(path)).isFile) throw new NotAFile(path);
  const data = await Deno.readFile(path);
  const out: Uint8Array[] = [];
  let from = 0;
  while (from <= data.length) {
    let end = data.indexOf(10, from);
    if (end === -1) end = data.length;
    const line = data.subarray(from, end > from && data[end - 1] === 13 ? end - 1 : end);
    if (line.some((b) => b !== 32 && b !== 9 && b !== 13)) out.push(line);
    from = end + 1;
  }
  return out;
}

/** `Label:key` (a multi-field key joined by `|`), the form rule tests and labels use. */
export function refText(e: Pick<Endpoint, "label" | "key">): string {
  return `${e.label}:${e.key.join("|")}`;
}

/** An order-free identity of a pair of endpoints, across iterations. */
export function pairKey(a: Endpoint, b: Endpoint): string {
  const [x, y] = [
    JSON.stringify([a.iteration_id, a.label, ...a.key]),
    JSON.stringify([
      b.iteration_id,
      b.label,
      ...b.key,
    ]),
  ].sort();
  return `${x}\u0000${y}`;
}

/** The entity id of an endpoint, to look it up in {@link Evaluation.entities}. */
export function endpointId(e: Endpoint): string {
  return entityId(e.label, e.iteration_id, e.key);
}

function rows(
  versions: Version[],
  entities: Map<string, EntityView>,
  spec: CompiledSpec,
): LinkRow[] {
  const leftOf = new Map(spec.rules.map((r) => [r.id, r.left]));
  return versions.map((l) => ({
    ...describeLink(l, entities, leftOf),
    iteration_id: l.iteration_id,
  })).sort((a, b) =>
    a.iteration_id.localeCompare(b.iteration_id) ||
    refText(a.from).localeCompare(refText(b.from)) || refText(a.to).localeCompare(refText(b.to))
  );
}
