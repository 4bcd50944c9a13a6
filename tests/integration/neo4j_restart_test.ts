/**
 * The real Neo4j server stopped mid-run (SIGTERM through `infrastructure/services.sh stop neo4j`),
 * kept down for 20 s, then started again (`services.sh start neo4j`, which waits until it
 * answers). The runner rides it out on the driver's own errors (its pooled connections die with
 * the server, new ones are refused, then the restarted server answers): retried with backoff,
 * nothing written meanwhile, and in the end exactly the graph of an uninterrupted run.
 *
 * It stops the server the other tests use too: `deno test` runs test files one after another, and
 * the server is always started again (finally), before the next file runs.
 */
import assert from "node:assert/strict";
import { run } from "../../src/runtime/mod.ts";
import { SERVICES, serviceTest } from "./_services.ts";
import { deleteFromNeo4j, expected as reference, graphOf, pipeline, workspace } from "./_outage.ts";

const OUTAGE_MS = 20_000;
const RUN = `nr${Date.now().toString(36)}`;
const root = new URL("../..", import.meta.url).pathname;

async function services(...args: string[]) {
  const out = await new Deno.Command("bash", {
    args: [`${root}infrastructure/services.sh`, ...args],
    cwd: root,
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `services.sh ${args.join(" ")}: ${text}`);
  return text;
}

serviceTest(
  "the real Neo4j server stopped for 20 s mid-run, then started: retried, nothing lost",
  ["neo4j"],
  async () => {
    // Only a server this repository's script started can be stopped and started by it.
    const status = await services("status").catch((e) => String(e));
    assert.match(
      status,
      /neo4j\s+up\s+\S+\s+pid \d+/,
      "Neo4j must be started by infrastructure/services.sh (deno task services:up)",
    );
    await using ws = await workspace(RUN, (spec) => {
      spec.runtime.retry = { initial_ms: 100, max_ms: 2000 };
      spec.targets.restart = {
        source: spec.targets.local.source,
        dedup: { type: "memory" },
        graph: { type: "neo4j", uri: SERVICES.neo4j },
        metrics: { type: "sqlite", path: "metrics.db" },
        dlq: { type: "file", path: "dlq.jsonl" },
      };
    });
    const want = await reference(ws);
    const p = await pipeline(ws, "restart", "state");
    let outage: Promise<number> | undefined;
    let writes = 0;
    const write = p.graph.write.bind(p.graph);
    p.graph.write = async (changes) => {
      if (++writes === 3) {
        // The third batch's write meets a stopped server, which comes back 20 s later.
        await services("stop", "neo4j");
        outage = (async () => {
          await new Promise((r) => setTimeout(r, OUTAGE_MS));
          const written = p.telemetry.get("batches_total"); // just before the server returns
          await services("start", "neo4j");
          return written;
        })();
      }
      return await write(changes); // fails while the server is down: the runtime retries it
    };
    try {
      const { telemetry: t } = await run(p);
      const writtenWhileDown = await outage!;
      assert.equal(writtenWhileDown, 2, "batches written while Neo4j was down");
      assert.ok(t.get("retries_total", { component: "graph" }) >= 2, "the writes were retried");
      assert.deepEqual(await graphOf(p.graph, ws.iterations), want.graph);
      assert.equal(t.get("events_processed_total"), want.processed);
    } finally {
      await p.close();
      // Whatever happened, the server runs again for the tests after this one.
      await services("start", "neo4j");
      await deleteFromNeo4j(ws.iterations);
    }
  },
);
