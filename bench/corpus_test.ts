import assert from "node:assert/strict";
import { loadSpec } from "../src/compiler/mod.ts";
import { identify } from "../src/dedup/mod.ts";
import type { Event as EventOf } from "../src/core/types.ts";
import avro from "avsc";
import { corpus, type Event, eventsPerIteration, humanize, toJsonl } from "./corpus.ts";
import { sampleLines } from "./gen_samples.ts";

const STREAM: Record<string, string> = {
  dag_executor: "dde",
  bdv_runner: "bdv",
  import_graph_builder: "acc",
};
type Field = { name: string; default?: unknown };
const schemas = Object.fromEntries(
  ["dde", "bdv", "acc"].map((s) => {
    const url = new URL(`../schemas/avro/${s}_event.avsc`, import.meta.url);
    const schema = JSON.parse(Deno.readTextFileSync(url));
    return [s, { fields: schema.fields as Field[], type: avro.Type.forSchema(schema) }];
  }),
);

/** Valid against its stream's Avro schema once the schema defaults are filled in. */
function isValid(event: Event): boolean {
  const s = schemas[STREAM[event.producer as string]];
  if (!s) return false;
  const full: Event = { ...event };
  for (const f of s.fields) if (!(f.name in full) && "default" in f) full[f.name] = f.default;
  try {
    return s.type.isValid(s.type.clone(full, { wrapUnions: false }));
  } catch {
    return false;
  }
}

const byIteration = (events: Event[]) => Map.groupBy(events, (e) => e.iteration_id as string);
const normalise = (p: string) => p.replaceAll("\\", "/").replace(/\/+/g, "/").replace(/^\.\//, "");

/** Which correlation families (and near misses) one iteration's events exercise. */
function families(events: Event[]) {
  const dde = events.filter((e) => e.producer === "dag_executor");
  const bdv = events.filter((e) => e.producer === "bdv_runner");
  const acc = events.filter((e) => e.event_type === "MODULE_ANALYZED");
  const nodes = new Set(dde.map((e) => e.node_id).filter(Boolean));
  const contracts = dde.filter((e) => e.event_type === "CONTRACT_LOCKED");
  const artifacts = new Set(dde.map((e) => e.artifact_path).filter(Boolean) as string[]);
  const stems = new Set([...artifacts].map((p) => p.split("/").pop()!.replace(/\.py$/, "")));
  const fromName = (n: unknown) => `src/${String(n).replace(".", "/")}.py`;
  const tagged = bdv.flatMap((e) => e.tags as string[]).filter((t) => t.startsWith("@contract:"));
  const tagHits = tagged.map((t) =>
    contracts.some((c) => t === `@contract:${c.contract_name}:${c.contract_version}`)
  );
  const featureStems = bdv.map((e) =>
    String(e.feature_file ?? "").match(/features\/(.+)\.feature$/)?.[1]
  )
    .filter(Boolean) as string[];
  const md = (e: Event) => (e.metadata as Record<string, string>).dde_node_id;
  const testStarts = dde.filter((e) =>
    e.event_type === "TASK_STARTED" && /^test_/.test(e.node_id as string)
  );
  return {
    explicit_contract: bdv.some((e) => contracts.some((c) => c.contract_id === e.contract_id)),
    explicit_node_bdv: bdv.some((e) => nodes.has(md(e))),
    explicit_node_acc: acc.some((e) => nodes.has(md(e))),
    exact_path: acc.some((e) => artifacts.has(e.module_path as string)),
    messy_path: acc.some((e) =>
      typeof e.module_path === "string" && !artifacts.has(e.module_path) &&
      artifacts.has(normalise(e.module_path))
    ),
    fuzzy_name: acc.some((e) =>
      (e.module_path === null || !artifacts.has(normalise(String(e.module_path)))) &&
      artifacts.has(fromName(e.module_name))
    ),
    fuzzy_feature: featureStems.some((s) => stems.has(s)),
    tag: tagHits.some(Boolean),
    heuristic: testStarts.some((t) =>
      bdv.some((s) =>
        String(s.scenario_name ?? "").startsWith(humanize((t.node_id as string).slice(5)) + " ") &&
        Math.abs((s.timestamp as number) - (t.timestamp as number)) <= 600_000
      )
    ),
    near_module: acc.some((e) =>
      !artifacts.has(fromName(e.module_name)) &&
      artifacts.has(fromName(String(e.module_name).slice(0, -1)))
    ),
    near_feature: featureStems.some((s) => !stems.has(s)),
    near_tag: tagHits.some((hit) => !hit),
  };
}

Deno.test("corpus() is deterministic for a seed and differs across seeds", () => {
  const a = [...corpus({ iterations: 3, seed: 42 })].map(toJsonl).join("");
  assert.equal([...corpus({ iterations: 3, seed: 42 })].map(toJsonl).join(""), a);
  assert.notEqual([...corpus({ iterations: 3, seed: 43 })].map(toJsonl).join(""), a);
  assert.match(a, /"iteration_id":"it-42-0001"/);
  assert.match(
    toJsonl([...corpus({ iterations: 1 })][0]),
    /^\{"event_id":"it-0001-dde-0001".*\}\n$/,
  );
});

Deno.test("corpus() events are valid against their Avro schemas", () => {
  const events = [...corpus({ iterations: 16, seed: 7 })];
  assert.ok(events.length > 3_000);
  for (const e of events) assert.ok(isValid(e), `invalid: ${JSON.stringify(e)}`);
  const traced = events.filter((e) => e.traceparent);
  assert.ok(traced.length > 0 && traced.length < events.length);
  for (const e of traced) {
    assert.match(e.traceparent as string, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.equal(e.traceparent, `00-${e.trace_id}-${e.span_id}-01`);
  }
});

Deno.test("corpus() event ids and the shipped spec's idempotency keys are unique, bursts included", async () => {
  const { spec } = await loadSpec(new URL("../pipeline.yaml", import.meta.url).pathname);
  const ids = new Set<unknown>(), keys = new Set<string>(), times = new Set<string>();
  let n = 0;
  for (const e of corpus({ iterations: 30, seed: 3 })) {
    n++;
    ids.add(e.event_id);
    const stream = spec!.streamOfEventType.get(e.event_type as string)!;
    keys.add(identify(spec!.streams.get(stream)!, e as EventOf).key);
    times.add(`${e.iteration_id}:${e.producer}:${e.timestamp}`);
  }
  assert.equal(ids.size, n);
  assert.equal(keys.size, n);
  // Distinct events of one stream in one millisecond: the bursts the keys must tell apart.
  assert.ok(times.size < n, "same-millisecond bursts");
});

Deno.test("every iteration exercises all correlation families and near misses", () => {
  for (const seed of [1, 7]) {
    for (const [id, events] of byIteration([...corpus({ iterations: 6, seed })])) {
      for (const [family, present] of Object.entries(families(events))) {
        assert.ok(present, `${id}: ${family} missing`);
      }
    }
  }
});

Deno.test("iterations advance in time and overlap only a little", () => {
  const spans = [...byIteration([...corpus({ iterations: 10, seed: 5 })]).values()].map(
    (events) => {
      const ts = events.map((e) => e.timestamp as number);
      for (let i = 1; i < ts.length; i++) {
        assert.ok(ts[i] >= ts[i - 1], "time order within an iteration");
      }
      return [Math.min(...ts), Math.max(...ts)];
    },
  );
  for (let i = 1; i < spans.length; i++) {
    assert.ok(spans[i][0] > spans[i - 1][0]);
    assert.ok(spans[i - 1][1] - spans[i][0] < 5 * 60_000, "overlap under 5 minutes");
  }
});

Deno.test("eventsPerIteration() is accurate within 10%", () => {
  for (const modulesPerIteration of [undefined, 4, 8, 20]) {
    const iterations = 60;
    const count = [...corpus({ iterations, seed: 11, modulesPerIteration })].length;
    const expected = eventsPerIteration({ modulesPerIteration });
    assert.ok(
      Math.abs(count / iterations - expected) / expected < 0.1,
      `${modulesPerIteration}: ${count / iterations} vs ${expected}`,
    );
  }
});

Deno.test("corpus() is lazy: 100k events stream through without being kept", () => {
  const endless = corpus({ iterations: Number.MAX_SAFE_INTEGER });
  for (let i = 0; i < 1_000; i++) assert.equal(endless.next().done, false);
  const iterations = Math.ceil(100_000 / eventsPerIteration());
  let n = 0;
  for (const _ of corpus({ iterations })) n++;
  assert.ok(n > 90_000 && n < 110_000, `${n}`);
});

Deno.test("samples/events.jsonl is up to date and has the promised defects", async () => {
  const lines = sampleLines();
  const onDisk = await Deno.readFile(new URL("../samples/events.jsonl", import.meta.url));
  assert.deepEqual(
    onDisk,
    new Uint8Array(lines.flatMap((l) => [...l.bytes, 10])),
    "re-run bench/gen_samples.ts",
  );
  assert.ok(lines.length >= 250 && lines.length <= 450);
  const kinds = Map.groupBy(lines, (l) => l.kind);
  assert.equal(kinds.get("malformed")?.length, 6);
  assert.equal(kinds.get("duplicate")?.length, 10);
  assert.equal(kinds.get("late")?.length, 4);
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const verdicts = kinds.get("malformed")!.map((l) => {
    try {
      return isValid(JSON.parse(decoder.decode(l.bytes))) ? "valid" : "invalid";
    } catch {
      return "undecodable";
    }
  });
  assert.deepEqual(verdicts.sort(), [
    "invalid",
    "invalid",
    "invalid",
    "undecodable",
    "undecodable",
    "valid",
  ]);
  const parsed = lines.filter((l) => l.kind !== "malformed")
    .map((l) => ({ kind: l.kind, event: JSON.parse(decoder.decode(l.bytes)) as Event }));
  for (const { event } of parsed) assert.ok(isValid(event), `invalid: ${JSON.stringify(event)}`);
  const unique = parsed.filter((p) => p.kind !== "duplicate").map((p) => p.event);
  assert.equal(new Set(unique.map((e) => e.event_id)).size, unique.length);
  const iterations = byIteration(unique);
  assert.deepEqual([...iterations.keys()].sort(), ["it-0001", "it-0002", "it-0003"]);
  for (const [id, its] of iterations) {
    for (const [family, present] of Object.entries(families(its))) {
      assert.ok(present, `${id}: ${family}`);
    }
  }
  const late = kinds.get("late")!.map((l) => l.event!.iteration_id);
  assert.deepEqual(late, ["it-0001", "it-0001", "it-0002", "it-0002"]);
});
