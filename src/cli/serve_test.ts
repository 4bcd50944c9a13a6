/** `ics serve`, and the API that `ics run` mounts on its observability port. */
import assert from "node:assert/strict";
import { openSamplesGraph, samplesState, startServe } from "../api/_testing.ts";
import { createObserver } from "./_observe.ts";
import { createTelemetry } from "../telemetry/mod.ts";
import type { Pipeline } from "../runtime/mod.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
const QUERY = JSON.stringify({ query: "{ iterations(first: 2) { nodes { id } } }" });
const post = (url: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: QUERY });

Deno.test("ics serve answers /graphql on 127.0.0.1 with /metrics beside it until SIGTERM", async () => {
  const { state } = await samplesState();
  // startServe() asserts the exit code 0 after SIGTERM.
  const { url, stop } = await startServe(state);
  try {
    const answer = await (await post(`${url}/graphql`)).json();
    assert.deepEqual(answer.data.iterations.nodes, [{ id: "it-0001" }, { id: "it-0002" }]);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /ics_graphql_request_duration_seconds_count\{kind="iterations"\} 1/);
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
  } finally {
    await stop();
  }
});

Deno.test("ics run serves the API at /graphql on its observability port; --no-api turns it off", async () => {
  const { spec, state } = await samplesState();
  const store = openSamplesGraph(state);
  try {
    for (const api of [true, false]) {
      const observer = createObserver(true);
      const logged: string[] = [];
      await observer.serve({
        spec,
        target: "local",
        telemetry: createTelemetry(),
        port: freePort(),
        pipeline: () => ({ graph: store }) as unknown as Pipeline,
        log: (_level, message) => logged.push(message),
        api: api ? { stateDir: state } : undefined,
      });
      try {
        const port = /:(\d+)\//.exec(logged[0])![1];
        const url = `http://127.0.0.1:${port}/graphql`;
        const r = api ? await post(url) : await fetch(`${url}?query={__typename}`);
        if (api) {
          assert.equal(r.status, 200);
          assert.equal((await r.json()).data.iterations.nodes.length, 2);
          assert.match(logged[0], /\/readyz and \/graphql$/);
        } else {
          assert.equal(r.status, 404);
          await r.body?.cancel();
          assert.match(logged[0], /\/healthz and \/readyz$/);
        }
      } finally {
        await observer.stop();
      }
    }
  } finally {
    await store.close();
  }
});
