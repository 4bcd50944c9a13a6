/**
 * Writes the real databases refuse for good: Neo4j refuses a node whose key is too large for its
 * index, Postgres a metric row that breaks a CHECK constraint. The batch holding such an event is
 * written again in halves until the refused event stands alone: it alone goes to the dead-letter
 * queue (`sink_error`, with the attempt count and the database's reason), the rest of its batch is
 * written. Neo4j also goes away for a moment right after the refusal: that transient error is
 * retried and dead-letters nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import { run } from "../../src/runtime/mod.ts";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import { deleteFromNeo4j, expected as reference, graphOf, pipeline, workspace } from "./_outage.ts";

const RUN = `ox${Date.now().toString(36)}r`;
const HUGE = "n".repeat(40_000); // over Neo4j's index key limit (about 8 kB)
const REFUSED = "refused-by-postgres";

/** Two events the stores refuse, in different batches; `lineOf` gives their 1-based lines. */
function poison(lines: string[]) {
  const event = (line: string, node_id: string, id: string) =>
    JSON.stringify({ ...JSON.parse(line), node_id, event_id: id });
  const out = [...lines];
  out.splice(250, 0, event(lines[152], REFUSED, "poison-postgres"));
  out.splice(150, 0, event(lines[133], HUGE, "poison-neo4j"));
  return out;
}

serviceTest(
  "writes the databases refuse dead-letter only the refused events; a transient error drops nothing",
  ["neo4j", "postgres"],
  async () => {
    await using neo = await startProxy(hostPort("neo4j"));
    const pgSchema = `refuse_${RUN}`;
    await using ws = await workspace(RUN, (spec, { dir }) => {
      spec.runtime.retry = { initial_ms: 50, max_ms: 500 };
      spec.targets.refuse = {
        source: spec.targets.local.source,
        dedup: { type: "memory" },
        graph: { type: "neo4j", uri: `bolt://${neo.address}` },
        metrics: { type: "postgres", url: SERVICES.postgres, schema: pgSchema },
        dlq: { type: "file", path: "dlq.jsonl" },
      };
      // The reference: the same input without the event Neo4j refuses (SQLite would take it).
      spec.targets.local.source = { ...spec.targets.local.source, path: join(dir, "ref.jsonl") };
    }, { transform: poison });
    const input = (await Deno.readTextFile(ws.input)).trimEnd().split("\n");
    const huge = input.findIndex((l) => l.includes(HUGE));
    const refused = input.findIndex((l) => l.includes(REFUSED));
    await Deno.writeTextFile(
      join(ws.dir, "ref.jsonl"),
      input.filter((_, i) => i !== huge).join("\n") + "\n",
    );
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    try {
      const want = await reference(ws);
      const p = await pipeline(ws, "refuse", "state"); // creates the metric tables
      await sql.unsafe(
        `ALTER TABLE ${pgSchema}.dde_event_metrics ADD CONSTRAINT no_refused_node
         CHECK (node_id IS DISTINCT FROM '${REFUSED}')`,
      );
      // Right after Neo4j refuses the batch, it goes away for a moment.
      let outage: Promise<void> | undefined;
      const write = p.graph.write.bind(p.graph);
      p.graph.write = async (changes) => {
        try {
          return await write(changes);
        } catch (error) {
          if (!outage && (error as Error).name === "PermanentError") {
            await neo.down("refuse");
            outage = new Promise((r) => setTimeout(r, 1500)).then(() => neo.up());
          }
          throw error;
        }
      };
      try {
        const { telemetry: t } = await run(p);
        assert.ok(outage, "Neo4j refused a write");
        await outage;
        assert.ok(t.get("retries_total", { component: "graph" }) > 0, "the outage was retried");

        // Exactly the two refused events are dead-lettered, with the database's reason.
        const dead = (await Deno.readTextFile(join(ws.dir, "state/dlq.jsonl"))).trim()
          .split("\n").map((l) => JSON.parse(l));
        const sinkErrors = dead.filter((d) => d.category === "sink_error");
        assert.deepEqual(sinkErrors.map((d) => d.position.line), [huge + 1, refused + 1]);
        const [graphRefused, metricsRefused] = sinkErrors;
        assert.match(
          graphRefused.reason,
          /^graph refused the write: Neo4j at .* failed: Property value is too large to index/,
        );
        assert.match(
          metricsRefused.reason,
          /^metrics refused the write: Postgres at .* refused a value: .*no_refused_node.* \(23514\)$/,
        );
        // The batch (20 events), then halves down to the event alone: 1 + ceil(log2(20)) writes.
        for (const d of sinkErrors) assert.ok(d.attempts >= 5 && d.attempts <= 6, `${d.attempts}`);
        assert.equal(JSON.parse(graphRefused.payload).node_id, HUGE); // the original event
        assert.equal(t.get("dlq_events_total", { category: "sink_error" }), 2);
        // Every other dead letter is one the reference run made too (the samples' malformed lines).
        assert.deepEqual(
          dead.filter((d) => d.category !== "sink_error").map((d) => d.category),
          want.letters,
        );

        // The rest of both batches was written: the graph believes what the reference does.
        const believed = (g: string[]) => g.filter((v) => v.endsWith(",true]"));
        assert.deepEqual(believed(await graphOf(p.graph, ws.iterations)), believed(want.graph));
        const ddeRows = async (where: string) =>
          Number(
            (await sql.unsafe(
              `SELECT count(*) AS n FROM ${pgSchema}.dde_event_metrics WHERE ${where}`,
            ))[0].n,
          );
        assert.equal(await ddeRows(`node_id = '${REFUSED}'`), 0);
        // The reference counts the Postgres-refused event; Neo4j's refused event got its metric row
        // in the first, parallel write of its batch (kept: a redrive finds it and adds nothing).
        const ref = await refRows(join(ws.dir, "expected"));
        assert.equal(await ddeRows(`coalesce(length(node_id), 0) < ${HUGE.length}`), ref - 1);
        assert.match(ws.logs.join("\n"), /1 of 20 events dead-lettered \(sink_error\)/);
      } finally {
        await p.close();
      }
    } finally {
      await sql.unsafe(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      await sql.end();
      await deleteFromNeo4j(ws.iterations);
    }
  },
);

/** dde rows of the reference's SQLite metrics. */
async function refRows(state: string): Promise<number> {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(join(state, "metrics.db"), { readOnly: true });
  try {
    return Number(
      (db.prepare("SELECT count(*) AS n FROM event_metrics WHERE stream = 'dde'").get() as {
        n: number;
      }).n,
    );
  } finally {
    db.close();
  }
}
