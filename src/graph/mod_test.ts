import assert from "node:assert/strict";
import type { GraphStore } from "../core/component.ts";
import type { Event, LinkProps, Version } from "../core/types.ts";
import { createDecoder } from "../codecs/mod.ts";
import { createEngine } from "../correlation/mod.ts";
import { createMapper } from "../mapping/mod.ts";
import { openSqliteGraph } from "../sinks/sqlite_graph.ts";
import { loadSpec } from "../compiler/mod.ts";
import { type ApplyResult, createGraphModel, entityId, type GraphModel } from "./mod.ts";

const PIPELINE = new URL("../../pipeline.yaml", import.meta.url).pathname;
const { spec } = await loadSpec(PIPELINE, () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");

const T = 1_700_000_000_000; // valid time origin
const N = 1_800_000_000_000; // system time origin
const decode = createDecoder(spec, () => N);
const mapper = createMapper(spec.entities, spec.relationships);

const PRODUCERS: Record<string, string> = {
  dde: "dag_executor",
  bdv: "bdv_runner",
  acc: "import_graph_builder",
};

let nextId = 0;
/** A decoded event as the pipeline would see it (defaults filled), at valid time T + `at` ms. */
function ev(type: string, at: number, fields: Record<string, unknown>, iteration = "it-1"): Event {
  const stream = spec!.streamOfEventType.get(type)!;
  const decoded = decode({
    value: new TextEncoder().encode(JSON.stringify({
      event_id: `e-${nextId++}`,
      event_type: type,
      iteration_id: iteration,
      timestamp: T + at,
      producer: PRODUCERS[stream],
      ...fields,
    })),
    format: "json",
    position: { kind: "file", path: "events.jsonl", line: 1 },
  });
  if (!decoded.ok) throw new Error(decoded.reason);
  return decoded.event;
}

const task = (type: string, at: number, fields: Record<string, unknown> = {}, it = "it-1") =>
  ev(type, at, { workflow_id: "wf-1", node_id: "build", ...fields }, it);

function newModel(store: GraphStore, maxIterations = 100): GraphModel {
  const engine = createEngine({
    rules: spec!.rules,
    combine: spec!.combine,
    min_confidence: spec!.min_confidence,
    policy: spec!.policy,
  });
  return createGraphModel(engine, spec!.policy, store, maxIterations);
}

/** One batch through the model and the store, as the runtime does it. */
async function batch(
  model: GraphModel,
  store: GraphStore,
  events: Event[],
  now: number,
): Promise<ApplyResult> {
  const mapped = events.map((e) => mapper.map(spec!.streamOfEventType.get(e.event_type)!, e));
  await model.prepare(events.map((e) => e.iteration_id));
  const result = model.apply(
    mapped.flatMap((m) => m.entities),
    mapped.flatMap((m) => m.relationships),
    now,
  );
  await store.write(result.changes);
  model.done(result.iterations);
  return result;
}

const taskId = (it = "it-1") => entityId("Task", it, ["build"]);
const props = (versions: Version[]) => versions.map((v) => v.props);
const links = (store: GraphStore, history = false) => store.query({ kind: "link", history });

Deno.test("graph model closes the first version of a task and opens two periods when it completes", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  const N1 = N + 10_000, N2 = N + 20_000;
  const first = await batch(model, store, [task("TASK_STARTED", 1000, { status: "RUNNING" })], N1);
  assert.equal(first.changes.closed.length, 0);
  const v1 = first.changes.opened.find((v) => v.kind === "node")!;
  const second = await batch(model, store, [
    task("TASK_COMPLETED", 5000, { status: "SUCCEEDED", duration_ms: 4000 }),
  ], N2);
  assert.deepEqual(second.changes.closed.map((c) => [c.kind, c.version_id, c.at]), [
    ["node", v1.version_id, N2],
  ]);

  const history = await store.query({ kind: "node", ids: [taskId()], history: true });
  assert.deepEqual(
    history.map((v) => [v.valid_from, v.valid_to, v.props.status, v.observed_at, v.superseded_at]),
    [
      [T + 1000, null, "RUNNING", N1, N2],
      [T + 1000, T + 5000, "RUNNING", N2, null],
      [T + 5000, null, "SUCCEEDED", N2, null],
    ],
  );
  assert.deepEqual(history[2].props, {
    node_id: "build",
    workflow_id: "wf-1",
    status: "SUCCEEDED",
    attempt: 1,
    duration_ms: 4000,
  });
  // The structural relationship was asserted from the first event on and is not re-versioned.
  const rels = await store.query({ kind: "relationship", history: true });
  assert.deepEqual(rels.map((r) => [r.label, r.valid_from, r.superseded_at]), [
    ["HAS_TASK", T + 1000, null],
  ]);
  await store.close();
});

Deno.test("graph model history answers as-of queries on both time axes", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  const N1 = N + 10_000, N2 = N + 20_000;
  await batch(model, store, [task("TASK_STARTED", 1000, { status: "RUNNING" })], N1);
  await batch(model, store, [task("TASK_COMPLETED", 5000, { status: "SUCCEEDED" })], N2);
  const status = async (known_at: number | undefined, valid_at: number) =>
    (await store.query({ kind: "node", ids: [taskId()], known_at, valid_at }))
      .map((v) => v.props.status);

  // Now: running from 1s, succeeded from 5s.
  assert.deepEqual(await status(undefined, T + 999), []);
  assert.deepEqual(await status(undefined, T + 1000), ["RUNNING"]);
  assert.deepEqual(await status(undefined, T + 4999), ["RUNNING"]);
  assert.deepEqual(await status(undefined, T + 5000), ["SUCCEEDED"]);
  assert.deepEqual(await status(undefined, T + 60_000), ["SUCCEEDED"]);
  // Between the batches we believed it was still running at 6s: the old belief is still visible.
  assert.deepEqual(await status(N1, T + 6000), ["RUNNING"]);
  assert.deepEqual(await status(N2 - 1, T + 60_000), ["RUNNING"]);
  assert.deepEqual(await status(N2, T + 6000), ["SUCCEEDED"]);
  assert.deepEqual(await status(N2, T + 2000), ["RUNNING"]);
  // Before the first batch we knew nothing.
  assert.deepEqual(await status(N1 - 1, T + 2000), []);
  // Everything believed between the batches, without a valid time: exactly the first version.
  const then = await store.query({ kind: "node", known_at: N + 15_000 });
  assert.deepEqual(then.map((v) => [v.valid_from, v.valid_to]), [[T + 1000, null]]);
  await store.close();
});

/** A scenario that names contract c-1 by id and by tag, and the contract it verifies. */
const scenario = (at: number, fields: Record<string, unknown> = {}) =>
  ev("SCENARIO_PASSED", at, {
    test_run_id: "run-1",
    scenario_id: "s-1",
    scenario_name: "Checkout accepts a coupon",
    contract_id: "c-1",
    tags: ["@contract:UserAPI:v1"],
    ...fields,
  });
const contract = (at: number) =>
  ev("CONTRACT_LOCKED", at, {
    workflow_id: "wf-1",
    contract_id: "c-1",
    contract_name: "UserAPI",
    contract_version: "v1",
  });

async function linkAfter(first: Event, second: Event) {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  const a = await batch(model, store, [first], N + 1000);
  assert.equal(a.changes.opened.filter((v) => v.kind === "link").length, 0);
  const b = await batch(model, store, [second], N + 2000);
  const versions = await links(store, true);
  await store.close();
  return { result: b, versions };
}

Deno.test("graph model links a pair whichever side arrives first, in separate batches", async () => {
  const leftFirst = await linkAfter(scenario(3000), contract(1000));
  const rightFirst = await linkAfter(contract(1000), scenario(3000));
  for (const { result, versions } of [leftFirst, rightFirst]) {
    assert.equal(versions.length, 1);
    const [link] = versions;
    assert.equal(link.label, "CORRELATES");
    assert.deepEqual(
      [link.from, link.to].sort(),
      [entityId("Scenario", "it-1", ["s-1"]), entityId("Contract", "it-1", ["c-1"])].sort(),
    );
    const p = link.props as LinkProps;
    assert.equal(p.confidence, 1); // 1 - (1 - 1.0)(1 - 0.8)
    assert.equal(p.policy, spec.policy);
    assert.deepEqual(p.rules.map((r) => [r.rule, r.score]), [
      ["scenario-contract-id", 1],
      ["scenario-contract-tag", 0.8],
    ]);
    // A link holds from when both endpoints exist: the later first sighting.
    assert.equal(link.valid_from, T + 3000);
    assert.deepEqual(
      Object.fromEntries(result.linksByRule),
      { "scenario-contract-id": 1, "scenario-contract-tag": 1 },
    );
  }
  const strip = (v: Version) => ({ ...v, version_id: "", observed_at: 0 });
  assert.deepEqual(strip(leftFirst.versions[0]), strip(rightFirst.versions[0]));
});

Deno.test("graph model moves a link's valid_from when a late event shows an endpoint earlier", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  await batch(model, store, [contract(1000), scenario(5000)], N + 1000);
  assert.deepEqual((await links(store)).map((v) => v.valid_from), [T + 5000]);
  await batch(model, store, [scenario(2000, { status: "PASSED" })], N + 2000);
  const history = await links(store, true);
  assert.deepEqual(
    history.map((v) => [v.valid_from, v.superseded_at]),
    [
      [T + 2000, null],
      [T + 5000, N + 2000],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
  );
  await store.close();
});

Deno.test("graph model rescores a link when a second rule fires later: noisy_or, old version closed", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  const artifact = ev("ARTIFACT_CREATED", 1000, {
    workflow_id: "wf-1",
    artifact_path: "src/api/user_service.py",
  });
  const analysed = (at: number, fields: Record<string, unknown> = {}) =>
    ev("MODULE_ANALYZED", at, {
      analysis_id: "an-1",
      module_path: "./src/api/user_service.py",
      ...fields,
    });
  const N1 = N + 1000, N2 = N + 2000;

  await batch(model, store, [artifact, analysed(4000)], N1);
  const [first] = await links(store);
  assert.equal((first.props as LinkProps).confidence, 0.9);
  assert.equal(first.valid_from, T + 4000); // max(1000, 4000)

  // The same module (keyed by its path) is later reported with its dotted name too.
  const result = await batch(
    model,
    store,
    [analysed(6000, { module_name: "api.user_service" })],
    N2,
  );
  assert.deepEqual(
    result.changes.closed.filter((c) => c.kind === "link").map((c) => [c.version_id, c.at]),
    [[first.version_id, N2]],
  );
  const history = await links(store, true);
  assert.equal(history.length, 2);
  const [now] = await links(store);
  const p = now.props as LinkProps;
  assert.equal(p.confidence, 0.97); // 1 - (1 - 0.7)(1 - 0.9)
  assert.deepEqual(p.rules.map((r) => [r.rule, r.score]), [
    ["artifact-module-name", 0.7],
    ["artifact-module-path", 0.9],
  ]);
  assert.equal(now.id, first.id);
  assert.equal(now.valid_from, T + 4000);
  assert.equal(now.observed_at, N2);
  // What did we believe about the link between the batches? The first score.
  const before = await store.query({ kind: "link", known_at: N1 + 500 });
  assert.deepEqual(before.map((v) => (v.props as LinkProps).confidence), [0.9]);
  await store.close();
});

Deno.test("graph model closes a link, not deletes it, when its evidence goes away", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  await batch(model, store, [contract(1000), scenario(2000, { tags: [] })], N + 1000);
  assert.equal((await links(store)).length, 1);
  const result = await batch(model, store, [scenario(3000, { contract_id: "c-2" })], N + 2000);
  // The tag still names UserAPI v1, so the link is rescored to the tag's 0.8, not retracted.
  assert.deepEqual((await links(store)).map((v) => (v.props as LinkProps).confidence), [0.8]);
  assert.equal(result.retracted, 0);
  const gone = await batch(
    model,
    store,
    [scenario(4000, { contract_id: "c-2", tags: ["@smoke"] })],
    N + 3000,
  );
  assert.equal(gone.retracted, 1);
  assert.deepEqual(await links(store), []);
  assert.equal((await links(store, true)).length, 2);
  await store.close();
});

/** Batches for it-1 with a late task event in the third, and it-2 in between to force eviction. */
function evictionBatches(): Event[][] {
  return [
    [
      task("TASK_STARTED", 1000, { status: "RUNNING" }),
      task("TASK_COMPLETED", 9000, { status: "SUCCEEDED", duration_ms: 8000 }),
      contract(1500),
    ],
    [task("TASK_STARTED", 1000, { status: "RUNNING" }, "it-2")],
    [
      task("TASK_RETRYING", 4000, { status: "RETRYING", attempt: 2 }), // late
      scenario(5000, { metadata: { dde_node_id: "build" } }), // links to the evicted task
    ],
  ];
}

async function runBatches(batches: Event[][], maxIterations: number) {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store, maxIterations);
  const sizes: number[] = [];
  for (const [i, events] of batches.entries()) {
    await batch(model, store, events, N + 1000 * (i + 1));
    sizes.push(model.size());
  }
  const history = await store.query({ history: true });
  await store.close();
  return { history, sizes };
}

Deno.test("graph model applies a late event for an evicted iteration as if it had stayed in memory", async () => {
  const evicted = await runBatches(evictionBatches(), 1);
  const kept = await runBatches(evictionBatches(), 100);
  assert.deepEqual(evicted.sizes, [1, 1, 1]);
  assert.deepEqual(kept.sizes, [1, 2, 2]);
  assert.deepEqual(evicted.history, kept.history);
  // And the late event did split the task's history, and the link to the evicted task exists.
  const periods = kept.history.filter((v) => v.kind === "node" && v.id === taskId())
    .filter((v) => v.superseded_at === null)
    .map((v) => [v.valid_from - T, v.valid_to && v.valid_to - T, v.props.status]);
  assert.deepEqual(periods, [[1000, 4000, "RUNNING"], [4000, 9000, "RETRYING"], [
    9000,
    null,
    "SUCCEEDED",
  ]]);
  const taskLinks = kept.history.filter((v) =>
    v.kind === "link" && v.superseded_at === null && (v.from === taskId() || v.to === taskId())
  );
  assert.deepEqual(
    taskLinks.map((v) => (v.props as LinkProps).rules.map((r) => r.rule)),
    [["scenario-task-node-id"]],
  );
});

Deno.test("graph model carries a late value forward after a reload exactly as without eviction", async () => {
  // The event at 9s says nothing about status, so the task keeps the status it had before 9s.
  // A late event at 4s changes that status: it must carry forward past 9s in both models.
  const batches = [
    [
      task("TASK_STARTED", 1000, { status: "RUNNING" }),
      task("TASK_COMPLETED", 9000, { duration_ms: 8000 }),
    ],
    [task("TASK_STARTED", 1000, { status: "RUNNING" }, "it-2")],
    [task("TASK_FAILED", 4000, { status: "FAILED", error_message: "boom" })],
  ];
  const evicted = await runBatches(batches, 1);
  const kept = await runBatches(batches, 100);
  const current = (history: Version[]) =>
    history.filter((v) => v.kind === "node" && v.id === taskId() && v.superseded_at === null)
      .map((v) => [v.valid_from - T, v.props.status]);
  assert.deepEqual(current(kept.history), [[1000, "RUNNING"], [4000, "FAILED"], [9000, "FAILED"]]);
  assert.deepEqual(current(evicted.history), current(kept.history));
});

Deno.test("graph model replaying the same events through a fresh model changes nothing", async () => {
  const store = openSqliteGraph(":memory:");
  const all = [
    task("TASK_STARTED", 1000, { status: "RUNNING" }),
    task("TASK_COMPLETED", 9000, { status: "SUCCEEDED" }),
    task("TASK_RETRYING", 4000, { status: "RETRYING", attempt: 2 }),
    contract(1500),
    scenario(5000, { metadata: { dde_node_id: "build" } }),
    ev("ARTIFACT_CREATED", 2000, {
      workflow_id: "wf-1",
      node_id: "build",
      artifact_path: "src/api/user_service.py",
    }),
    ev("MODULE_ANALYZED", 3000, {
      analysis_id: "an-1",
      module_name: "api.user_service",
      module_path: "src/api/user_service.py",
    }),
  ];
  const first = newModel(store);
  for (const [i, e] of all.entries()) await batch(first, store, [e], N + 1000 * (i + 1));
  const before = await store.query({ history: true });
  assert.ok(before.some((v) => v.kind === "link"));

  // A restart: a new model over the same store sees the same events again, in one batch.
  const restarted = newModel(store);
  const replay = await batch(restarted, store, all, N + 100_000);
  assert.deepEqual(replay.changes, { opened: [], closed: [], observed: [] });
  assert.deepEqual(await store.query({ history: true }), before);

  // And the same model replaying them changes nothing either.
  const again = await batch(first, store, all, N + 200_000);
  assert.deepEqual(again.changes, { opened: [], closed: [], observed: [] });
  await store.close();
});

Deno.test("graph model keeps iterations with unwritten batches in memory beyond the bound", async () => {
  const store = openSqliteGraph(":memory:");
  const model = newModel(store, 1);
  const mapped = (e: Event) => mapper.map("dde", e);
  const a = mapped(task("TASK_STARTED", 1000, { status: "RUNNING" }, "it-1"));
  const b = mapped(task("TASK_STARTED", 1000, { status: "RUNNING" }, "it-2"));
  const ra = model.apply(a.entities, a.relationships, N);
  const rb = model.apply(b.entities, b.relationships, N);
  assert.equal(model.size(), 2); // it-1's batch is not written yet: it must not be evicted
  await store.write(ra.changes);
  await store.write(rb.changes);
  model.done(ra.iterations);
  model.done(rb.iterations);
  assert.equal(model.size(), 1);
  assert.deepEqual(props((await store.load(["it-1"])).versions).map((p) => p.node_id), [
    "build",
    undefined,
  ]);
  await store.close();
});

Deno.test("graph model: a batch written while the next is applied holds only its own observations", async () => {
  // The runtime applies batch 2 while batch 1 is still being written. A crash after batch 1's
  // write must leave a store from which batch 2, replayed, is applied in full.
  const store = openSqliteGraph(":memory:");
  const model = newModel(store);
  const mapped = (e: Event) => mapper.map("dde", e);
  const one = mapped(task("TASK_STARTED", 1000, { status: "RUNNING" }));
  const two = mapped(task("TASK_COMPLETED", 5000, { status: "SUCCEEDED", duration_ms: 4000 }));
  const r1 = model.apply(one.entities, one.relationships, N + 1000);
  model.apply(two.entities, two.relationships, N + 2000);
  await store.write(r1.changes); // then the process is killed: batch 2 is never written

  const restarted = newModel(store);
  const replay = await batch(restarted, store, [
    task("TASK_COMPLETED", 5000, { status: "SUCCEEDED", duration_ms: 4000 }),
  ], N + 3000);
  assert.ok(replay.changes.opened.length > 0, "batch 2 replayed changes nothing");
  const believed = await store.query({ kind: "node", ids: [taskId()] });
  assert.deepEqual(believed.map((v) => [v.valid_from, v.valid_to, v.props.status]), [
    [T + 1000, T + 5000, "RUNNING"],
    [T + 5000, null, "SUCCEEDED"],
  ]);
  await store.close();
});
