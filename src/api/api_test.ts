/**
 * The API's resolvers against a real SQLite store holding the samples (run through the embedded
 * target): what each root and field answers, compared with what the store holds, page by page,
 * and how few store calls a nested query makes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { GraphStore } from "../core/component.ts";
import type { LinkProps, Version } from "../core/types.ts";
import { decodeLine } from "../dead_letters/mod.ts";
import { compareText } from "../sinks/neo4j_graph/_order.ts";
import { createApi, deadLettersOf, type GraphqlHandler } from "./mod.ts";
import { data, openSamplesGraph, samplesState } from "./_testing.ts";

const { spec, state } = await samplesState();

async function withApi(
  fn: (api: GraphqlHandler, store: GraphStore) => Promise<void>,
  wrap: (s: GraphStore) => GraphStore = (s) => s,
) {
  const store = openSamplesGraph(state);
  try {
    const api = createApi({
      spec,
      store: wrap(store),
      deadLetters: deadLettersOf({ type: "file", path: "dlq.jsonl" }, state),
      token: "",
    });
    await fn(api, store);
  } finally {
    await store.close();
  }
}

/** Every page of a connection at `path` of a query taking `$after`, concatenated. */
async function walk(
  api: GraphqlHandler,
  query: string,
  path: (d: Record<string, unknown>) => {
    nodes: unknown[];
    pageInfo: { hasNextPage: boolean; endCursor: string };
  },
  variables: Record<string, unknown> = {},
): Promise<unknown[]> {
  const all: unknown[] = [];
  let after: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const page = path(await data(api, query, { ...variables, after }));
    all.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return all;
    after = page.pageInfo.endCursor;
  }
  throw new Error("no last page");
}

const current = (vs: Version[]) => vs.filter((v) => v.valid_to === null);

Deno.test("api: iterations are listed in pages, with the store's counts", async () => {
  await withApi(async (api, store) => {
    const ids = await store.iterations!();
    for (const first of [1, 2, 10]) {
      const got = await walk(
        api,
        `query($after: String) { iterations(first: ${first}, after: $after) {
          nodes { id } pageInfo { hasNextPage endCursor } } }`,
        (d) => d.iterations as never,
      );
      assert.deepEqual(got.map((n) => (n as { id: string }).id), ids);
    }
    const { iteration } = await data(
      api,
      `{ iteration(id: "it-0001") { id counts { entities relationships links
          byLabel { label count } byType { type count } } } }`,
    );
    const held = current(await store.query({ iteration_id: "it-0001" }));
    const count = (kind: string) => held.filter((v) => v.kind === kind).length;
    assert.equal(iteration.counts.entities, count("node"));
    assert.equal(iteration.counts.relationships, count("relationship"));
    assert.equal(iteration.counts.links, count("link"));
    const tasks = iteration.counts.byLabel.find((c: { label: string }) => c.label === "Task");
    assert.equal(tasks.count, held.filter((v) => v.label === "Task").length);
    assert.equal((await data(api, `{ iteration(id: "it-00") { id } }`)).iteration, null);
  });
});

Deno.test("api: an iteration's entities come in pages, each once, in id order", async () => {
  await withApi(async (api, store) => {
    const held = current(await store.query({ iteration_id: "it-0002", kind: "node" }))
      .map((v) => v.id).sort(compareText);
    for (const first of [1, 7, 500]) {
      const got = await walk(
        api,
        `query($after: String) { iteration(id: "it-0002") {
          entities(first: ${first}, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } }`,
        (d) => (d.iteration as { entities: never }).entities,
      );
      assert.deepEqual(got.map((n) => (n as { id: string }).id), held);
    }
    const tasks = await data(
      api,
      `{ iteration(id: "it-0002") { entities(label: Task, first: 500) { nodes { label } } } }`,
    );
    assert.ok(tasks.iteration.entities.nodes.length > 0);
    assert.ok(tasks.iteration.entities.nodes.every((n: { label: string }) => n.label === "Task"));
  });
});

Deno.test("api: entities are found by label and key, with typed properties", async () => {
  await withApi(async (api, store) => {
    const [task] = current(await store.query({ iteration_id: "it-0001", kind: "node" }))
      .filter((v) => v.label === "Task");
    const vars = { it: "it-0001", key: task.key };
    const d = await data(
      api,
      `query($it: String!, $key: [String!]!) {
        task(iterationId: $it, key: $key) { id ref status attempt duration_ms properties }
        entity(label: Task, iterationId: $it, key: $key) { id ... on Task { status } }
        workflow(iterationId: $it, key: $key) { id }
        missing: task(iterationId: $it, key: ["no such task"]) { id } }`,
      vars,
    );
    assert.equal(d.task.id, task.id);
    assert.equal(d.task.ref, `Task:it-0001:${task.key.join("|")}`);
    assert.equal(d.task.status, task.props.status);
    assert.equal(d.task.attempt, task.props.attempt ?? null);
    assert.deepEqual(d.task.properties, task.props);
    assert.deepEqual(d.entity, { id: task.id, status: task.props.status });
    assert.equal(d.workflow, null); // no Workflow of that key
    assert.equal(d.missing, null);
  });
});

Deno.test("api: relationship fields answer both ways, links with their evidence", async () => {
  await withApi(async (api, store) => {
    const held = current(await store.query({ iteration_id: "it-0001" }));
    const rel = held.find((v) => v.kind === "relationship" && v.label === "HAS_TASK")!;
    const [wf] = held.filter((v) => v.id === rel.from);
    const d = await data(
      api,
      `query($key: [String!]!) { workflow(iterationId: "it-0001", key: $key) {
        hasTask(first: 500) { nodes { id hasTaskFrom { nodes { id } } } } } }`,
      { key: wf.key },
    );
    const tasks = held.filter((v) => v.kind === "relationship" && v.from === wf.id)
      .map((v) => v.to!).sort(compareText);
    assert.deepEqual(d.workflow.hasTask.nodes.map((n: { id: string }) => n.id), tasks);
    for (const t of d.workflow.hasTask.nodes) {
      assert.deepEqual(t.hasTaskFrom.nodes, [{ id: wf.id }]);
    }
    // Links of an entity: the store's, highest confidence first, with every rule's evidence.
    const link = held.find((v) => v.kind === "link")!;
    const { entity } = await data(
      api,
      `query($key: [String!]!) { entity(label: ${JSON.parse(link.from!)[1]},
          iterationId: "it-0001", key: $key) { links(first: 50) { nodes { id confidence policy
            matched from { id } to { id } rules { rule kind score matched detail } } } } }`,
      { key: JSON.parse(link.from!).slice(2) },
    );
    const expected = held.filter((v) =>
      v.kind === "link" && (v.from === link.from || v.to === link.from)
    )
      .sort((a, b) => (b.props.confidence as number) - (a.props.confidence as number));
    assert.deepEqual(
      entity.links.nodes.map((n: { id: string }) => n.id).sort(),
      expected.map((v) => v.id).sort(),
    );
    const shown = entity.links.nodes.find((n: { id: string }) => n.id === link.id);
    const props = link.props as LinkProps;
    assert.equal(shown.confidence, props.confidence);
    assert.equal(shown.policy, props.policy);
    assert.deepEqual(shown.rules, props.rules.map((r) => ({ detail: null, ...r })));
    assert.deepEqual(
      shown.matched,
      Object.fromEntries(props.rules.map((r) => [r.rule, r.matched])),
    );
    assert.deepEqual([shown.from.id, shown.to.id].sort(), [link.from, link.to].sort());
    // Shown from the first rule's left side.
    const left = spec.rules.find((r) => r.id === props.rules[0].rule)!.left;
    assert.equal(JSON.parse(shown.from.id)[1], left);
  });
});

Deno.test("api: links of the graph filter by rule and confidence, highest first, in pages", async () => {
  await withApi(async (api, store) => {
    const all = current(await store.query({ kind: "link" }));
    const strong = await walk(
      api,
      `query($after: String) { links(minConfidence: 0.9, first: 3, after: $after) {
        nodes { id confidence } pageInfo { hasNextPage endCursor } } }`,
      (d) => d.links as never,
    ) as { id: string; confidence: number }[];
    assert.equal(strong.length, all.filter((v) => (v.props.confidence as number) >= 0.9).length);
    assert.ok(
      strong.every((l, i) =>
        l.confidence >= 0.9 && (i === 0 || strong[i - 1].confidence >= l.confidence)
      ),
    );
    const byRule = await data(
      api,
      `{ links(rule: "artifact-module-path", first: 500) { nodes { rules { rule } } } }`,
    );
    assert.equal(
      byRule.links.nodes.length,
      all.filter((v) => (v.props as LinkProps).rules.some((r) => r.rule === "artifact-module-path"))
        .length,
    );
    assert.ok(byRule.links.nodes.length > 0);
    const it = await data(
      api,
      `{ links(iterationId: "it-0003", first: 500) { nodes { iterationId } } }`,
    );
    assert.equal(it.links.nodes.length, all.filter((v) => v.iteration_id === "it-0003").length);
  });
});

Deno.test("api: explain gives every rule's verdict, near misses included, and the stored link", async () => {
  await withApi(async (api, store) => {
    const near = await data(
      api,
      `{ explain(a: {label: Artifact, iterationId: "it-0001", key: ["src/api/user_service.py"]},
                 b: {label: Module, iterationId: "it-0001", key: ["src/api/user_services.py"]}) {
          linked confidence missing crossIteration a { ref } b { ref } link { id }
          verdicts { rule kind verdict score reason } } }`,
    );
    assert.equal(near.explain.linked, false);
    assert.equal(near.explain.link, null);
    assert.deepEqual(near.explain.missing, []);
    const name = near.explain.verdicts.find((v: { rule: string }) =>
      v.rule === "artifact-module-name"
    );
    assert.equal(name.verdict, "NEAR_MISS");
    assert.match(name.reason, /below the threshold/);
    assert.ok(
      near.explain.verdicts.some((v: { verdict: string }) => v.verdict === "NOT_APPLICABLE"),
    );
    // A linked pair: the stored link is there, with the confidence explain computes.
    const link = current(await store.query({ kind: "link", iteration_id: "it-0001" }))[0];
    const ref = (id: string) => {
      const [it, label, ...key] = JSON.parse(id);
      return { label, iterationId: it, key };
    };
    const linked = await data(
      api,
      `query($a: EntityRefInput!, $b: EntityRefInput!) { explain(a: $a, b: $b) {
        linked confidence link { id confidence } verdicts { verdict } } }`,
      { a: ref(link.from!), b: ref(link.to!) },
    );
    assert.equal(linked.explain.linked, true);
    assert.equal(linked.explain.link.id, link.id);
    assert.equal(linked.explain.link.confidence, link.props.confidence);
    assert.ok(Math.abs(linked.explain.confidence - (link.props.confidence as number)) < 1e-9);
    const missing = await data(
      api,
      `{ explain(a: {label: Task, iterationId: "it-0001", key: ["nope"]},
                 b: {label: Scenario, iterationId: "it-0002", key: ["nope"]}) {
          linked crossIteration missing } }`,
    );
    assert.deepEqual(missing.explain, {
      linked: false,
      crossIteration: true,
      missing: ["Task:it-0001:nope", "Scenario:it-0002:nope"],
    });
  });
});

Deno.test("api: dead letters of the file queue, by category, in pages, oldest first", async () => {
  await withApi(async (api) => {
    const lines = (await Deno.readTextFile(join(state, "dlq.jsonl"))).split("\n").filter(Boolean)
      .map((l) => decodeLine(l)!);
    assert.ok(lines.length >= 3);
    const all = await walk(
      api,
      `query($after: String) { deadLetters(first: 2, after: $after) {
        nodes { id category reason stream position payload payloadEncoding time policy }
        pageInfo { hasNextPage endCursor } } }`,
      (d) => d.deadLetters as never,
    ) as { category: string; reason: string; time: string; position: unknown }[];
    assert.deepEqual(
      all.map((l) => [l.category, l.reason, l.position]),
      lines.map((l) => [l.category, l.reason, l.position]),
    );
    assert.equal(all[0].time, new Date(lines[0].time).toISOString());
    const decode = await data(
      api,
      `{ deadLetters(category: decode_error, first: 100) { nodes { category } } }`,
    );
    assert.equal(
      decode.deadLetters.nodes.length,
      lines.filter((l) => l.category === "decode_error").length,
    );
    const before = await data(
      api,
      `query($t: Time) { deadLetters(knownAt: $t) { nodes { id } } }`,
      { t: lines[0].time - 1 },
    );
    assert.deepEqual(before.deadLetters.nodes, []);
  });
});

Deno.test("api: a nested query costs a few store calls per level, not one per entity", async () => {
  const calls: string[] = [];
  const counted = (s: GraphStore): GraphStore =>
    new Proxy(s, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(String(name));
          return value.apply(target, args);
        };
      },
    });
  await withApi(async (api) => {
    const d = await data(
      api,
      `{ iteration(id: "it-0001") { entities(first: 100) { nodes { ref
          ... on Task { hasTaskFrom { nodes { ref } } produced { nodes { ref } } }
          ... on Workflow { hasTask(first: 100) { nodes { ref } } }
          links(first: 10) { nodes { confidence from { ref } to { ref } } } } } } }`,
    );
    const entities = d.iteration.entities.nodes.length;
    assert.ok(entities > 40, `${entities} entities`);
    const per = (name: string) => calls.filter((c) => c === name).length;
    // One page of entities, one batch per relationship field and for links, one per level of
    // endpoints (the iteration's existence check is one readIterations).
    assert.equal(per("readEntities"), 1);
    assert.equal(per("linksOf"), 1);
    assert.equal(per("relationshipsOf"), 3);
    assert.ok(per("readNodes") <= 2, calls.join(", "));
    assert.ok(calls.length <= 8, calls.join(", "));
  }, counted);
});
