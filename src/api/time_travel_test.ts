/**
 * Time travel through the API: the graph store contract's bi-temporal history (a late event that
 * rewrites a task's history, a link rescored then retracted, a relationship moved earlier) asked
 * at points in valid time (`asOf`) and system time (`knownAt`), one or both at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { history } from "../../tests/graph_store_contract.ts";
import { openSqliteGraph } from "../sinks/sqlite_graph.ts";
import { createApi, type GraphqlHandler } from "./mod.ts";
import { unreadDeadLetters } from "./_dead_letters.ts";
import { ask, data, loadRootSpec } from "./_testing.ts";

const spec = await loadRootSpec();
const t = (ms: number) => new Date(ms).toISOString();

async function withHistory(fn: (api: GraphqlHandler) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "ics-api-time-" });
  const store = openSqliteGraph(join(dir, "graph.db"));
  try {
    for (const batch of history("p-")) await store.write(batch);
    await fn(createApi({ spec, store, deadLetters: unreadDeadLetters("none"), token: "" }));
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const TASK = `task(iterationId: "p-it-1", key: ["build"]`;

Deno.test("time travel: an entity as valid at asOf, as known at knownAt, and both at once", async () => {
  await withHistory(async (api) => {
    const d = await data(
      api,
      `{ now: ${TASK}) { status validFrom validTo observedAt }
         valid1500: ${TASK}, asOf: 1500) { status validFrom validTo }
         known15000: ${TASK}, knownAt: 15000) { status validFrom validTo }
         known35000at700: ${TASK}, asOf: 700, knownAt: 35000) { status validFrom validTo }
         known25000at700: ${TASK}, asOf: 700, knownAt: 25000) { status }
         known5000: ${TASK}, knownAt: 5000) { status } }`,
    );
    assert.deepEqual(d.now, {
      status: "SUCCEEDED",
      validFrom: t(2000),
      validTo: null,
      observedAt: t(20_000),
    });
    assert.deepEqual(d.valid1500, { status: "RUNNING", validFrom: t(1000), validTo: t(2000) });
    // Before the second batch the runner believed RUNNING from 1000 on, open-ended.
    assert.deepEqual(d.known15000, { status: "RUNNING", validFrom: t(1000), validTo: null });
    // The late QUEUED event (learned at 30 s) is what was known at 35 s about 0.7 s...
    assert.deepEqual(d.known35000at700, { status: "QUEUED", validFrom: t(500), validTo: t(1000) });
    // ...and nothing was known about 0.7 s before it arrived.
    assert.equal(d.known25000at700, null);
    assert.equal(d.known5000, null);
  });
});

Deno.test("time travel: a link as rescored and retracted, and an entity's versions", async () => {
  await withHistory(async (api) => {
    const links = (knownAt?: number) =>
      data(
        api,
        `query($k: Time) { scenario(iterationId: "p-it-1", key: ["login works"], knownAt: $k) {
          links { nodes { confidence observedAt supersededAt to { ref } } } } }`,
        { k: knownAt ?? null },
      ).then((d) => d.scenario?.links.nodes);
    assert.deepEqual(await links(25_000), [{
      confidence: 0.7,
      observedAt: t(20_000),
      supersededAt: t(30_000),
      to: { ref: "Task:p-it-1:build" },
    }]);
    assert.deepEqual((await links(35_000)).map((l: { confidence: number }) => l.confidence), [
      0.91,
    ]);
    assert.deepEqual(await links(45_000), []);
    assert.deepEqual(await links(), []);
    assert.equal(await links(15_000), undefined); // no Scenario yet: null entity
    const d = await data(
      api,
      `{ now: ${TASK}) { versions { nodes { ... on Task { status } validFrom validTo } } }
         all: ${TASK}) { versions(history: true) { nodes { validFrom observedAt supersededAt } } }
         then: ${TASK}, knownAt: 15000) { versions { nodes { ... on Task { status } } } } }`,
    );
    assert.deepEqual(d.now.versions.nodes, [
      { status: "QUEUED", validFrom: t(500), validTo: t(1000) },
      { status: "RUNNING", validFrom: t(1000), validTo: t(2000) },
      { status: "SUCCEEDED", validFrom: t(2000), validTo: null },
    ]);
    assert.equal(d.all.versions.nodes.length, 4);
    assert.deepEqual(d.all.versions.nodes[1], {
      validFrom: t(1000),
      observedAt: t(10_000),
      supersededAt: t(20_000),
    });
    assert.deepEqual(d.then.versions.nodes, [{ status: "RUNNING" }]);
  });
});

Deno.test("time travel: iterations, relationships and counts at a time point", async () => {
  await withHistory(async (api) => {
    const iterations = (knownAt: number) =>
      data(api, `query($k: Time) { iterations(prefix: "p-", knownAt: $k) { nodes { id } } }`, {
        k: knownAt,
      }).then((d) => d.iterations.nodes.map((n: { id: string }) => n.id));
    assert.deepEqual(await iterations(5_000), []);
    assert.deepEqual(await iterations(10_000), ["p-it-1", "p-it-2"]);
    const wf = (asOf: number, knownAt: number) =>
      data(
        api,
        `query($a: Time, $k: Time) { workflow(iterationId: "p-it-1", key: ["wf-1"], asOf: $a,
          knownAt: $k) { hasTask { nodes { ref ... on Task { status } } } } }`,
        { a: asOf, k: knownAt },
      ).then((d) => d.workflow.hasTask.nodes);
    // HAS_TASK held from 1000 until the late event moved it to 500 (learned at 30 s).
    assert.deepEqual(await wf(950, 15_000), []);
    assert.deepEqual(await wf(950, 35_000), [{ ref: "Task:p-it-1:build", status: "QUEUED" }]);
    const counts = await data(
      api,
      `{ before: iteration(id: "p-it-1", knownAt: 15000) { counts { entities relationships links } }
         after: iteration(id: "p-it-1", knownAt: 25000) { counts { entities relationships links } } }`,
    );
    assert.deepEqual(counts.before.counts, { entities: 2, relationships: 1, links: 0 });
    assert.deepEqual(counts.after.counts, { entities: 3, relationships: 1, links: 1 });
  });
});

Deno.test("time travel: times are ISO 8601 with an offset, dates or epoch ms; others are refused", async () => {
  await withHistory(async (api) => {
    for (const asOf of ["1970-01-01T00:00:01.5Z", "1970-01-01T01:00:01.500+01:00", "1500", 1500]) {
      const d = await data(api, `query($a: Time) { ${TASK}, asOf: $a) { status } }`, { a: asOf });
      assert.equal(d.task.status, "RUNNING", String(asOf));
    }
    assert.equal(
      (await data(api, `{ ${TASK}, asOf: "1970-01-01") { status } }`)).task,
      null, // midnight UTC: before the task
    );
    for (const bad of ["yesterday", "2025-01-06T09:00:00", "1.5"]) {
      const a = await ask(api, `query($a: Time) { ${TASK}, asOf: $a) { status } }`, { a: bad });
      assert.equal(a.body.data, undefined);
      assert.match(a.body.errors[0].message, /is not an ISO 8601 time with an offset/, bad);
    }
  });
});
