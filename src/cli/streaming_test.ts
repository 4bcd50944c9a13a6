/**
 * `ics query`, `links` and `checksum` read the stored graph a page at a time: on a store that
 * refuses every whole-graph read (a query without an iteration, the list of every iteration), they
 * still give every answer, page after page.
 */
import assert from "node:assert/strict";
import type { GraphStore } from "../core/component.ts";
import { checksum } from "../graph/checksum.ts";
import { openSamplesGraph, samplesState } from "../api/_testing.ts";
import { endpointOf, leftLabels, type LinkRow, streamLinks } from "./_graph.ts";
import type { Endpoint } from "../graph/mod.ts";
import { iterationCounts } from "./query.ts";

const { spec, state } = await samplesState();

/** The store, refusing what would read the whole graph at once, and counting page reads. */
function paged(store: GraphStore, calls: string[]): GraphStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(name));
        const q = args[0] as { iteration_id?: string; ids?: string[] } | undefined;
        if (name === "iterations" || (name === "query" && !q?.iteration_id && !q?.ids)) {
          throw new Error(`a whole-graph read: ${String(name)}(${JSON.stringify(q)})`);
        }
        return value.apply(target, args);
      };
    },
  });
}

Deno.test("links are read a page at a time, highest confidence first, as links() gave them", async () => {
  const store = openSamplesGraph(state);
  try {
    const before = await store.query({ kind: "link" }); // the whole-graph read of old
    const calls: string[] = [];
    const rows: LinkRow[] = [];
    for await (const r of streamLinks(paged(store, calls), {}, leftLabels(spec), 7)) rows.push(r);
    const key = (from: Endpoint, to: Endpoint, confidence: number, rules: unknown) =>
      JSON.stringify([[from, to].map((e) => JSON.stringify(e)).sort(), confidence, rules]);
    assert.deepEqual(
      rows.map((r) => key(r.from, r.to, r.confidence, r.rules)).sort(),
      before.map((v) =>
        key(endpointOf(v.from!), endpointOf(v.to!), v.props.confidence as number, v.props.rules)
      ).sort(),
    );
    assert.ok(rows.some((r) => r.from.label !== "?" && r.from.key.length > 0));
    assert.ok(rows.every((r, i) => i === 0 || rows[i - 1].confidence >= r.confidence));
    assert.equal(calls.filter((c) => c === "readLinks").length, Math.ceil((rows.length + 1) / 7));
    const strong = [];
    for await (const r of streamLinks(paged(store, []), { min_confidence: 0.9 }, new Map(), 5)) {
      strong.push(r);
    }
    assert.deepEqual(
      strong.length,
      before.filter((v) => (v.props.confidence as number) >= 0.9).length,
    );
  } finally {
    await store.close();
  }
});

Deno.test("query lists iterations with their counts a page at a time", async () => {
  const store = openSamplesGraph(state);
  try {
    const calls: string[] = [];
    const got = [];
    for await (const c of iterationCounts(paged(store, calls), {}, 2)) got.push(c);
    assert.deepEqual(got.map((c) => c.id), ["it-0001", "it-0002", "it-0003"]);
    const held = (await store.query({ iteration_id: "it-0001" })).filter((v) =>
      v.valid_to === null
    );
    assert.deepEqual(got[0].counts, {
      node: held.filter((v) => v.kind === "node").length,
      relationship: held.filter((v) => v.kind === "relationship").length,
      link: held.filter((v) => v.kind === "link").length,
    });
    assert.equal(calls.filter((c) => c === "readIterations").length, 2);
  } finally {
    await store.close();
  }
});

Deno.test("checksum lists the iterations from the store's index, a page at a time", async () => {
  const store = openSamplesGraph(state);
  try {
    const whole = await checksum(store);
    const calls: string[] = [];
    assert.deepEqual(await checksum(paged(store, calls)), whole);
    assert.ok(calls.includes("readIterations"));
    assert.deepEqual(await checksum(paged(store, []), { prefix: "it-0002" }), {
      ...(await checksum(store, { iterations: ["it-0002"] })),
    });
  } finally {
    await store.close();
  }
});
