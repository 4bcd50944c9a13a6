/**
 * A write the real database refuses for good: Postgres refuses a metric row that breaks a CHECK
 * constraint. The batch holding such an event is written again in halves until the refused event
 * stands alone: it alone goes to the dead-letter queue (`sink_error`, with the attempt count and
 * the database's reason), the rest of its batch is written. Neo4j goes away for a moment right
 * after the refusal, while the halves are written: that transient error is retried and
 * dead-letters nothing. (Neo4j's own refusals, such as an id too large for its index, no longer
 * reach it: the decoder and the mapper refuse such ids first; `src/sinks/neo4j_graph` classifies
 * the refusals that remain as permanent.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgresJs from "postgres";
import { run } from "../../src/runtime/mod.ts";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { startProxy } from "./_proxy.ts";
import { deleteFromNeo4j, expected as reference, graphOf, pipeline, workspace } from "./_outage.ts";

const RUN = `ox${Date.now().toString(36)}r`;
const REFUSED = "refused-by-postgres";

/** An event Postgres refuses, inserted into the samples. */
function poison(lines: string[]) {
  const event = (line: string, node_id: string, id: string) =>
    JSON.stringify({ ...JSON.parse(line), node_id, event_id: id });
  const out = [...lines];
  out.splice(250, 0, event(lines[152], REFUSED, "poison-postgres"));
  return out;
}

serviceTest(
  "writes the databases refuse dead-letter only the refused events; a transient error drops nothing",
  ["neo4j", "postgres"],
  async () => {
    await using neo = await startProxy(hostPort("neo4j"));
    const pgSchema = `refuse_${RUN}`;
    await using ws = await workspace(RUN, (spec) => {
      spec.runtime.retry = { initial_ms: 50, max_ms: 500 };
      spec.targets.refuse = {
        source: spec.targets.local.source,
        dedup: { type: "memory" },
        graph: { type: "neo4j", uri: `bolt://${neo.address}` },
        metrics: { type: "postgres", url: SERVICES.postgres, schema: pgSchema },
        dlq: { type: "file", path: "dlq.jsonl" },
      };
    }, { transform: poison });
    const input = (await Deno.readTextFile(ws.input)).trimEnd().split("\n");
    const refused = input.findIndex((l) => l.includes(REFUSED));
    const sql = postgresJs(SERVICES.postgres, { onnotice: () => {} });
    try {
      const want = await reference(ws);
      const p = await pipeline(ws, "refuse", "state"); // creates the metric tables
      await sql.unsafe(
        `ALTER TABLE ${pgSchema}.dde_event_metrics ADD CONSTRAINT no_refused_node
         CHECK (node_id IS DISTINCT FROM '${REFUSED}')`,
      );
      // Right after Postgres refuses the batch, Neo4j goes away for a moment.
      let outage: Promise<void> | undefined;
      const write = p.metrics.write.bind(p.metrics);
      p.metrics.write = async (events, batch) => {
        try {
          return await write(events, batch);
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
        assert.ok(outage, "Postgres refused a write");
        await outage;
        assert.ok(t.get("retries_total", { component: "graph" }) > 0, "the outage was retried");

        // Exactly the refused event is dead-lettered, with the database's reason.
        const dead = (await Deno.readTextFile(join(ws.dir, "state/dlq.jsonl"))).trim()
          .split("\n").map((l) => JSON.parse(l));
        const sinkErrors = dead.filter((d) => d.category === "sink_error");
        assert.deepEqual(sinkErrors.map((d) => d.position.line), [refused + 1]);
        const [metricsRefused] = sinkErrors;
        assert.match(
          metricsRefused.reason,
          /^metrics refused the write: Postgres at .* refused a value: .*no_refused_node.* \(23514\)$/,
        );
        // The batch (about 20 events), then halves down to the event alone: 1 + ceil(log2(n)).
        for (const d of sinkErrors) assert.ok(d.attempts >= 5 && d.attempts <= 6, `${d.attempts}`);
        assert.equal(JSON.parse(metricsRefused.payload).node_id, REFUSED); // the original event
        assert.equal(t.get("dlq_events_total", { category: "sink_error" }), 1);
        // Every other dead letter is one the reference run made too (the samples' malformed lines).
        assert.deepEqual(
          dead.filter((d) => d.category !== "sink_error").map((d) => d.category),
          want.letters,
        );

        // The rest of the batch was written: the graph believes what the reference does (the
        // refused event's graph facts included: Postgres refused only its metric row).
        const believed = (g: string[]) => g.filter((v) => v.endsWith(",true]"));
        assert.deepEqual(believed(await graphOf(p.graph, ws.iterations)), believed(want.graph));
        const ddeRows = async (where: string) =>
          Number(
            (await sql.unsafe(
              `SELECT count(*) AS n FROM ${pgSchema}.dde_event_metrics WHERE ${where}`,
            ))[0].n,
          );
        assert.equal(await ddeRows(`node_id = '${REFUSED}'`), 0);
        // Every other dde event has its row (the reference counts the refused one too).
        const ref = await refRows(join(ws.dir, "expected"));
        assert.equal(await ddeRows("true"), ref - 1);
        assert.match(ws.logs.join("\n"), /1 of \d+ events dead-lettered \(sink_error\)/);
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
