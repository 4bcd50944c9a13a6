import assert from "node:assert/strict";
import type { GraphChanges, Version } from "../core/types.ts";
import {
  type FactHead,
  fold,
  type Observation,
  observationsOf,
  type Period,
  reconcile,
  storedObservations,
} from "./timeline.ts";

const head: FactHead = {
  kind: "node",
  id: "task-1",
  iteration_id: "it-1",
  label: "Task",
  key: ["build"],
};

const empty = (): GraphChanges => ({ opened: [], closed: [], observed: [] });

/** Periods without the observations each was folded from (what most cases look at). */
const periodsOf = (observations: Observation[]) =>
  fold(observations).map(({ observations: _, ...p }) => p);

Deno.test("fold() lets later non-null values win and ends each period where the next begins", () => {
  const periods = periodsOf([
    { time: 1000, props: { node_id: "build", status: "RUNNING" } },
    { time: 2000, props: { status: "SUCCEEDED", duration_ms: 1000 } },
  ]);
  assert.deepEqual(periods, [
    { valid_from: 1000, valid_to: 2000, props: { node_id: "build", status: "RUNNING" } },
    {
      valid_from: 2000,
      valid_to: null,
      props: { node_id: "build", status: "SUCCEEDED", duration_ms: 1000 },
    },
  ]);
});

Deno.test("fold() merges consecutive observations that change nothing into one period", () => {
  const periods = periodsOf([
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "RUNNING" } },
    { time: 2500, props: {} },
    { time: 3000, props: { status: "SUCCEEDED" } },
  ]);
  assert.deepEqual(periods, [
    { valid_from: 1000, valid_to: 3000, props: { status: "RUNNING" } },
    { valid_from: 3000, valid_to: null, props: { status: "SUCCEEDED" } },
  ]);
});

Deno.test("fold() lets a late observation split an earlier period", () => {
  const inOrder: Observation[] = [
    { time: 1000, props: { status: "RUNNING" } },
    { time: 3000, props: { status: "SUCCEEDED" } },
  ];
  const late: Observation = { time: 2000, props: { status: "RETRYING", attempt: 2 } };
  const periods = periodsOf([...inOrder, late]);
  assert.deepEqual(periods, [
    { valid_from: 1000, valid_to: 2000, props: { status: "RUNNING" } },
    { valid_from: 2000, valid_to: 3000, props: { status: "RETRYING", attempt: 2 } },
    { valid_from: 3000, valid_to: null, props: { status: "SUCCEEDED", attempt: 2 } },
  ]);
  // Arrival order does not matter when the times differ.
  assert.deepEqual(periodsOf([late, ...inOrder]), periods);
});

Deno.test("fold() keeps arrival order for observations with equal timestamps", () => {
  const a = { time: 1000, props: { status: "RUNNING" } };
  const b = { time: 1000, props: { status: "FAILED" } };
  assert.deepEqual(periodsOf([a, b]), [{
    valid_from: 1000,
    valid_to: null,
    props: { status: "FAILED" },
  }]);
  assert.deepEqual(periodsOf([b, a]), [
    { valid_from: 1000, valid_to: null, props: { status: "RUNNING" } },
  ]);
});

Deno.test("fold() merges a period back when an equal-time observation restores the previous state", () => {
  const periods = periodsOf([
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "FAILED" } },
    { time: 2000, props: { status: "RUNNING" } },
  ]);
  assert.deepEqual(periods, [{ valid_from: 1000, valid_to: null, props: { status: "RUNNING" } }]);
});

Deno.test("fold() of no observations is no period", () => {
  assert.deepEqual(fold([]), []);
});

Deno.test("fold() gives each period the observations it was made of, in arrival order", () => {
  const running = { time: 1000, props: { status: "RUNNING" } };
  const again = { time: 1500, props: { status: "RUNNING" } }; // changes nothing
  const done = { time: 2000, props: { status: "SUCCEEDED" } };
  const late = { time: 1000, props: { node_id: "build" } };
  assert.deepEqual(fold([running, again, done, late]).map((p) => p.observations), [
    [running, late, again],
    [done],
  ]);
});

Deno.test("reconcile() opens one version per new period, observed now and believed", () => {
  const changes = empty();
  const periods = fold([
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "SUCCEEDED" } },
  ]);
  const believed = reconcile(head, [], periods, 50_000, changes);
  assert.equal(changes.closed.length, 0);
  assert.equal(changes.opened.length, 2);
  assert.deepEqual(believed, changes.opened);
  for (const v of changes.opened) {
    assert.equal(v.kind, "node");
    assert.equal(v.id, "task-1");
    assert.equal(v.iteration_id, "it-1");
    assert.equal(v.label, "Task");
    assert.deepEqual(v.key, ["build"]);
    assert.equal(v.observed_at, 50_000);
    assert.equal(v.superseded_at, null);
  }
  assert.deepEqual(
    believed.map((v) => [v.valid_from, v.valid_to, v.props.status]),
    [[1000, 2000, "RUNNING"], [2000, null, "SUCCEEDED"]],
  );
  assert.notEqual(believed[0].version_id, believed[1].version_id);
});

Deno.test("reconcile() closes only the versions whose period changed", () => {
  const observations: Observation[] = [
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "SUCCEEDED" } },
  ];
  const first = empty();
  const v1 = reconcile(head, [], fold(observations), 10_000, first);
  const [running, succeeded] = v1;

  observations.push({ time: 3000, props: { status: "FAILED" } });
  const second = empty();
  const v2 = reconcile(head, v1, fold(observations), 20_000, second);

  // The first period is untouched; the open-ended second one now ends at 3000.
  assert.deepEqual(second.closed.map((c) => [c.kind, c.version_id, c.at]), [
    ["node", succeeded.version_id, 20_000],
  ]);
  assert.deepEqual(
    second.opened.map((v) => [v.valid_from, v.valid_to, v.props.status, v.observed_at]),
    [[2000, 3000, "SUCCEEDED", 20_000], [3000, null, "FAILED", 20_000]],
  );
  assert.equal(v2[0], running);
  assert.deepEqual(v2.map((v) => v.valid_from), [1000, 2000, 3000]);
});

Deno.test("reconcile() closes every version a late observation changes, and keeps the others", () => {
  const observations: Observation[] = [
    { time: 1000, props: { status: "RUNNING" } },
    { time: 3000, props: { status: "SUCCEEDED" } },
    { time: 5000, props: { status: "ARCHIVED", attempt: 1 } },
  ];
  const v1 = reconcile(head, [], fold(observations), 10_000, empty());
  observations.push({ time: 2000, props: { status: "RETRYING" } });
  const changes = empty();
  const v2 = reconcile(head, v1, fold(observations), 20_000, changes);
  // [1000,3000) becomes [1000,2000); [2000,3000) is new; [3000,5000) and [5000,∞) are unchanged.
  assert.deepEqual(changes.closed.map((c) => c.version_id), [v1[0].version_id]);
  assert.deepEqual(
    changes.opened.map((v) => [v.valid_from, v.valid_to, v.props.status]),
    [[1000, 2000, "RUNNING"], [2000, 3000, "RETRYING"]],
  );
  assert.deepEqual(v2.map((v) => [v.valid_from, v.valid_to]), [
    [1000, 2000],
    [2000, 3000],
    [3000, 5000],
    [5000, null],
  ]);
  assert.equal(v2[2], v1[1]);
  assert.equal(v2[3], v1[2]);
});

Deno.test("reconcile() of the same observations again changes nothing", () => {
  const observations: Observation[] = [
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "SUCCEEDED" } },
  ];
  const v1 = reconcile(head, [], fold(observations), 10_000, empty());
  const changes = empty();
  const v2 = reconcile(head, v1, fold(observations), 20_000, changes);
  assert.deepEqual(changes, { opened: [], closed: [], observed: [] });
  assert.deepEqual(v2, v1);
});

Deno.test("reconcile() gives new versions their observations, and lists a kept one whose observations grew", () => {
  const observations: Observation[] = [
    { time: 1000, props: { status: "RUNNING" } },
    { time: 2000, props: { status: "SUCCEEDED" } },
  ];
  const first = empty();
  const v1 = reconcile(head, [], fold(observations), 10_000, first);
  assert.deepEqual(first.opened.map((v) => v.observations), [[observations[0]], [observations[1]]]);
  // An event that changes nothing: no version opens or closes; the version it falls in grows.
  const repeat = { time: 2500, props: { status: "SUCCEEDED" } };
  const changes = empty();
  const v2 = reconcile(head, v1, fold([...observations, repeat]), 20_000, changes);
  assert.deepEqual([changes.opened, changes.closed], [[], []]);
  assert.deepEqual(changes.observed?.map((o) => [o.version_id, o.observations]), [
    [v1[1].version_id, [observations[1], repeat]],
  ]);
  assert.deepEqual(v2[1].observations, [observations[1], repeat]);
  assert.equal(v2[0], v1[0]);
});

Deno.test("reconcile() closes every believed version when no period is wanted (a retraction)", () => {
  const periods: Period[] = [{ valid_from: 1000, valid_to: null, props: { confidence: 0.9 } }];
  const link: FactHead = {
    ...head,
    kind: "link",
    label: "CORRELATES",
    key: [],
    from: "a",
    to: "b",
  };
  const believed: Version[] = reconcile(link, [], periods, 10_000, empty());
  const changes = empty();
  assert.deepEqual(reconcile(link, believed, [], 20_000, changes), []);
  assert.deepEqual(changes.closed.map((c) => [c.kind, c.version_id, c.from, c.to, c.at]), [
    ["link", believed[0].version_id, "a", "b", 20_000],
  ]);
  assert.equal(changes.opened.length, 0);
});

Deno.test("reconcile() version ids differ between system times for the same period", () => {
  const periods: Period[] = [{ valid_from: 1000, valid_to: null, props: { status: "RUNNING" } }];
  const a = reconcile(head, [], periods, 10_000, empty());
  const b = reconcile(head, [], periods, 20_000, empty());
  const c = reconcile(head, [], periods, 10_000, empty());
  assert.notEqual(a[0].version_id, b[0].version_id);
  assert.equal(a[0].version_id, c[0].version_id);
});

Deno.test("storedObservations() leaves out observations that are only the version itself", () => {
  const changes = empty();
  const [one, two] = reconcile(
    head,
    [],
    fold([
      { time: 1000, props: { status: "RUNNING", tags: ["@a"] } },
      { time: 2000, props: { status: "SUCCEEDED" } },
    ]),
    5000,
    changes,
  );
  // The first is itself; the second's props hold what the first said too.
  assert.equal(storedObservations(one), undefined);
  assert.deepEqual(observationsOf(one), one.observations);
  assert.deepEqual(storedObservations(two), [{ time: 2000, props: { status: "SUCCEEDED" } }]);
  assert.deepEqual(storedObservations({ ...one, props: { status: "RUNNING", tags: ["@b"] } }), [
    { time: 1000, props: { status: "RUNNING", tags: ["@a"] } },
  ]);
  // Read back without them, the version stands for the same observation: nothing to rewrite.
  const { observations: _, ...read } = one;
  const again = empty();
  reconcile(head, [read, two], fold([read, two].flatMap(observationsOf)), 6000, again);
  assert.deepEqual(again, empty());
});
