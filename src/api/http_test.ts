/**
 * The API over HTTP is safe by default: loopback clients only unless a bearer token is set, CORS
 * off unless configured, depth, alias, cost, page, body and time limits, read-only, and errors
 * that are one clear message with secrets masked, never a stack trace.
 */
import assert from "node:assert/strict";
import type { GraphStore } from "../core/component.ts";
import type { ApiConfig, CompiledSpec } from "../compiler/mod.ts";
import { rememberSecret } from "../core/secrets.ts";
import { createTelemetry } from "../telemetry/mod.ts";
import { createApi, deadLettersOf, type GraphqlHandler } from "./mod.ts";
import { ask, LOCAL, openSamplesGraph, samplesState } from "./_testing.ts";

const { spec, state } = await samplesState();

function withConfig(config: Partial<ApiConfig>): CompiledSpec {
  return { ...spec, spec: { ...spec.spec, api: { ...spec.spec.api, ...config } } };
}

async function withApi(
  fn: (api: GraphqlHandler) => Promise<void>,
  options: { config?: Partial<ApiConfig>; token?: string; wrap?: (s: GraphStore) => GraphStore } =
    {},
) {
  const store = openSamplesGraph(state);
  try {
    await fn(createApi({
      spec: withConfig(options.config ?? {}),
      store: options.wrap ? options.wrap(store) : store,
      deadLetters: deadLettersOf({ type: "file", path: "dlq.jsonl" }, state),
      token: options.token ?? "",
    }));
  } finally {
    await store.close();
  }
}

const Q = `{ iterations(first: 1) { nodes { id } } }`;
const REMOTE: Deno.NetAddr = { transport: "tcp", hostname: "10.1.2.3", port: 5555 };

Deno.test("http: without a token the API answers only clients on this machine", async () => {
  await withApi(async (api) => {
    assert.equal((await ask(api, Q)).status, 200);
    for (const hostname of ["::1", "127.0.0.9", "::ffff:127.0.0.1"]) {
      const a = await ask(api, Q, {}, { remote: { transport: "tcp", hostname, port: 1 } });
      assert.equal(a.status, 200, hostname);
    }
    const far = await ask(api, Q, {}, { remote: REMOTE });
    assert.equal(far.status, 403);
    assert.match(far.body.errors[0].message, /only clients on this machine; set ICS_API_TOKEN/);
  });
});

Deno.test("http: with a token every request needs it as a bearer token, from anywhere", async () => {
  const token = "s3cret-api-token";
  await withApi(async (api) => {
    const tries: Record<string, string>[] = [{}, { authorization: "Bearer nope" }, {
      authorization: token,
    }];
    for (const headers of tries) {
      const a = await ask(api, Q, {}, { headers });
      assert.equal(a.status, 401, JSON.stringify(headers));
      assert.equal(a.headers.get("www-authenticate"), 'Bearer realm="ics"');
      assert.doesNotMatch(JSON.stringify(a.body), /s3cret/);
    }
    const ok = await ask(api, Q, {}, {
      headers: { authorization: `Bearer ${token}` },
      remote: REMOTE,
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data.iterations.nodes.length, 1);
  }, { token });
});

Deno.test("http: CORS is off unless origins are configured", async () => {
  const preflight = (api: GraphqlHandler, origin: string) =>
    api.handle(
      new Request("http://127.0.0.1/graphql", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type",
        },
      }),
      LOCAL,
    );
  await withApi(async (api) => {
    const r = await preflight(api, "https://explorer.example.com");
    assert.equal(r!.headers.get("access-control-allow-origin"), null);
    await r!.body?.cancel();
    const a = await ask(api, Q, {}, { headers: { origin: "https://explorer.example.com" } });
    assert.equal(a.headers.get("access-control-allow-origin"), null);
  });
  await withApi(async (api) => {
    const r = await preflight(api, "https://explorer.example.com");
    assert.equal(r!.headers.get("access-control-allow-origin"), "https://explorer.example.com");
    await r!.body?.cancel();
    const other = await preflight(api, "https://evil.example.com");
    assert.notEqual(other!.headers.get("access-control-allow-origin"), "https://evil.example.com");
    await other!.body?.cancel();
  }, { config: { cors_origins: ["https://explorer.example.com"] } });
});

Deno.test("http: queries over the depth, alias, cost or page limits are refused before they run", async () => {
  await withApi(async (api) => {
    let deep = "ref";
    for (let i = 0; i < 8; i++) deep = `links { nodes { from { ${deep} } } }`;
    const depth = await ask(api, `{ iteration(id: "it-0001") { entities { nodes { ${deep} } } } }`);
    assert.match(depth.body.errors[0].message, /depth/i);
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: iterations { nodes { id } }`);
    const alias = await ask(api, `{ ${aliases.join(" ")} }`);
    assert.match(alias.body.errors[0].message, /alias/i);
    const costly = await ask(
      api,
      `{ iterations(first: 500) { nodes { entities(first: 500) { nodes { links(first: 500) {
        nodes { confidence } } } } } } }`,
    );
    assert.equal(costly.body.data, undefined);
    assert.match(costly.body.errors[0].message, /estimated cost \d+ is over api.max_cost 200000/);
    assert.equal(costly.body.errors[0].extensions.code, "QUERY_TOO_COSTLY");
    const page = await ask(api, `{ iterations(first: 501) { nodes { id } } }`);
    assert.match(page.body.errors[0].message, /"first" must be a whole number from 0 to 500/);
  }, { config: { max_depth: 10 } });
});

Deno.test("http: a query running past the timeout is answered with an error and stops reading", async () => {
  let reads = 0;
  const slow = (s: GraphStore): GraphStore => ({
    ...s,
    readEntities: async (q) => {
      reads++;
      await new Promise((r) => setTimeout(r, 300));
      return s.readEntities(q);
    },
    readIterations: (q) => s.readIterations(q),
    readNodes: (q) => (reads++, s.readNodes(q)),
    relationshipsOf: (q) => (reads++, s.relationshipsOf(q)),
  });
  await withApi(async (api) => {
    const started = performance.now();
    const a = await ask(
      api,
      `{ iteration(id: "it-0001") { entities(label: Task) {
        nodes { ref ... on Task { hasTaskFrom { nodes { ref } } } } } } }`,
    );
    assert.ok(performance.now() - started < 280, "answered at the timeout, not when done");
    assert.equal(a.body.errors[0].extensions.code, "TIMEOUT");
    assert.match(a.body.errors[0].message, /ran longer than api.timeout_ms \(100 ms\)/);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(reads, 1, "nothing read after the timeout");
  }, { config: { timeout_ms: 100 }, wrap: slow });
});

Deno.test("http: errors are one clear message with secrets masked, never a stack trace", async () => {
  rememberSecret("hunter2-neo4j-secret");
  const failing = (s: GraphStore): GraphStore => ({
    ...s,
    readIterations: () =>
      Promise.reject(
        new Error('Neo4j at "bolt://ics:hunter2-neo4j-secret@db:7687" failed: connection refused'),
      ),
  });
  await withApi(async (api) => {
    const a = await ask(api, Q);
    assert.equal(a.status, 200);
    assert.deepEqual(a.body.errors.map((e: { message: string }) => e.message), [
      'Neo4j at "bolt://ics:***@db:7687" failed: connection refused',
    ]);
    assert.deepEqual(Object.keys(a.body.errors[0].extensions), ["code"]);
    const text = JSON.stringify(a.body);
    assert.doesNotMatch(text, /hunter2|stack|\.ts:\d+/);
    const cursor = await ask(api, `{ iterations(after: "bm9wZQ") { nodes { id } } }`);
    assert.match(cursor.body.errors[0].message, /"after" is not a cursor of this list/);
    assert.equal(cursor.body.errors[0].extensions.code, "BAD_USER_INPUT");
    const other = await ask(api, `{ links(first: 1) { pageInfo { endCursor } } }`);
    const wrongList = await ask(
      api,
      `query($c: String) { iterations(after: $c) { nodes { id } } }`,
      { c: other.body.data.links.pageInfo.endCursor },
    );
    assert.match(wrongList.body.errors[0].message, /not a cursor of this list \(iterations\)/);
  }, { wrap: failing });
});

Deno.test("http: the API is read-only and takes bodies within their limit", async () => {
  await withApi(async (api) => {
    const mutation = await ask(api, `mutation { iterations { nodes { id } } }`);
    assert.match(mutation.body.errors[0].message, /mutation/);
    const put = await api.handle(
      new Request("http://127.0.0.1/graphql", { method: "PUT", body: "{}" }),
      LOCAL,
    );
    assert.equal(put!.status, 405);
    await put!.body?.cancel();
    const big = await api.handle(
      new Request("http://127.0.0.1/graphql", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: Q, variables: { x: "a".repeat(300_000) } }),
      }),
      LOCAL,
    );
    assert.equal(big!.status, 413);
    await big!.body?.cancel();
    const get = await api.handle(
      new Request(`http://127.0.0.1/graphql?query=${encodeURIComponent(Q)}`),
      LOCAL,
    );
    assert.equal(get!.status, 200);
    assert.equal((await get!.json()).data.iterations.nodes.length, 1);
    // Other paths pass on (the explorer at / is tested in explorer/explorer_test.ts).
    assert.equal(await api.handle(new Request("http://127.0.0.1/metrics"), LOCAL), undefined);
  });
});

Deno.test("http: requests are timed by kind (ics_graphql_request_duration_seconds)", async () => {
  const telemetry = createTelemetry();
  const store = openSamplesGraph(state);
  try {
    const api = createApi({
      spec,
      store,
      deadLetters: deadLettersOf({ type: "file", path: "dlq.jsonl" }, state),
      token: "",
      telemetry,
    });
    await ask(api, Q);
    await ask(api, Q);
    await ask(api, `{ links(first: 1) { nodes { id } } }`);
    await ask(api, `{ nope }`);
    const text = await telemetry.registry.metrics();
    for (const [kind, n] of [["iterations", 2], ["links", 1], ["invalid", 1]] as const) {
      assert.match(
        text,
        new RegExp(`ics_graphql_request_duration_seconds_count\\{kind="${kind}"\\} ${n}\\n`),
      );
    }
  } finally {
    await store.close();
  }
});
