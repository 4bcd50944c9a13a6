/**
 * SQLite metrics store (embedded target): one row per processed event (idempotent on its
 * content digest, so a replayed batch adds nothing, while two distinct events that share an
 * idempotency key get a row each) and one row per batch for throughput.
 * @module
 */
import { z } from "zod";
import { dirname, resolve } from "node:path";
import type { SQLInputValue } from "node:sqlite";
import type { ComponentDef, MetricsStore } from "../core/component.ts";
import { openDatabase } from "./_sqlite.ts";
import { sqliteWriter } from "./_sqlite_writer.ts";

export const schema = z.strictObject({
  type: z.literal("sqlite"),
  path: z.string().min(1).default("metrics.db").describe(
    "Database file, relative to the state folder.",
  ),
}).describe("Event and throughput metrics in a local SQLite file.");

const DDL = `
CREATE TABLE IF NOT EXISTS event_metrics (
  iteration_id TEXT NOT NULL,
  event_key    TEXT NOT NULL,     -- the event's content digest: one row per distinct event
  stream       TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  event_time   INTEGER NOT NULL,  -- event timestamp, epoch ms
  processed_at INTEGER NOT NULL,
  latency_ms   INTEGER NOT NULL,  -- processed_at - event_time (end-to-end latency)
  status       TEXT,
  duration_ms  INTEGER,
  -- Clustered by iteration: a batch's rows land on few pages (a random hash key would not).
  PRIMARY KEY (iteration_id, event_key)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS throughput_metrics (
  at         INTEGER NOT NULL,
  received   INTEGER NOT NULL,
  processed  INTEGER NOT NULL,
  elapsed_ms REAL NOT NULL
) STRICT;
`;

const EVENT = `INSERT OR IGNORE INTO event_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const BATCH = `INSERT INTO throughput_metrics VALUES (?, ?, ?, ?)`;

export const sqlite: ComponentDef<typeof schema, MetricsStore> = {
  type: "sqlite",
  schema,
  create(config, ctx) {
    const path = resolve(ctx.stateDir, config.path);
    Deno.mkdirSync(dirname(path), { recursive: true });
    const db = openDatabase(path, DDL, ctx.durability);
    // Rows are made here, inserted on a worker (`_sqlite_writer.ts`), one transaction a batch.
    const writer = sqliteWriter(db, path, [EVENT, BATCH], ctx.durability);
    const store: MetricsStore = {
      async write(events, info) {
        const values: SQLInputValue[] = [];
        for (const e of events) {
          const status = e.event.status;
          const duration = e.event.duration_ms;
          values.push(
            e.event.iteration_id,
            e.digest,
            e.stream,
            e.event.event_type,
            e.event.timestamp,
            info.at,
            info.at - e.event.timestamp,
            typeof status === "string" ? status : null,
            typeof duration === "number" ? duration : null,
          );
        }
        await writer.write([
          { statement: 0, width: 9, values },
          {
            statement: 1,
            width: 4,
            values: [info.at, info.received, events.length, info.elapsed_ms],
          },
        ]);
      },
      check: () => Promise.resolve(),
      async close() {
        try {
          await writer.close();
        } finally {
          db.close();
        }
      },
    };
    return Promise.resolve(store);
  },
};
