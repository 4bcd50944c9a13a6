/**
 * The floor of the embedded pipeline on this machine: what it costs only to parse the input and
 * to persist the rows a finished run left in its SQLite stores, with nothing else in between.
 *
 * - parse: read the corpus and `JSON.parse` every line.
 * - persist: every row of every table of the run's `graph.db` and `metrics.db`, inserted again into
 *   empty copies of the same schema (same indexes, same pragmas) with prepared statements, 5,000
 *   rows per transaction, as the stores do. Only the final rows count: the run also wrote versions
 *   it later closed and rewrote entity observations, so the real work is larger than this floor.
 *
 * - raw: the same rows into bare tables (no key, no index, no constraint), `synchronous = OFF`, one
 *   transaction: what this SQLite takes for the bytes alone, whatever the schema.
 *
 * No single-threaded pipeline that parses its input and keeps these rows can beat
 * `events / (parse + persist)`; one that persists on a second thread cannot beat
 * `events / max(parse, persist)`, and no schema for the same content beats `raw`.
 * @module
 */
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { join } from "node:path";
import { PRAGMAS } from "../src/sinks/sqlite_graph.ts";

export interface Floor {
  parse_ms: number;
  persist_ms: number;
  raw_ms: number;
  rows: number;
}

export async function floor(corpus: string, state: string): Promise<Floor> {
  const text = await Deno.readTextFile(corpus);
  let started = performance.now();
  for (const line of text.split("\n")) if (line) JSON.parse(line);
  const parse_ms = performance.now() - started;

  let persist_ms = 0, raw_ms = 0, rows = 0;
  for (const file of ["graph.db", "metrics.db"]) {
    const from = new DatabaseSync(join(state, file), { readOnly: true });
    const copy = join(state, `floor-${file}`);
    const to = new DatabaseSync(copy);
    to.exec(PRAGMAS);
    const bare = join(state, `floor-raw-${file}`);
    const raw = new DatabaseSync(bare);
    raw.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF;");
    const objects = from.prepare(
      "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND type IN ('table', 'index')",
    ).all() as { type: string; name: string; sql: string }[];
    for (const o of objects) to.exec(o.sql);
    for (const { name } of objects.filter((o) => o.type === "table")) {
      const data = from.prepare(`SELECT * FROM "${name}"`).all().map((r) =>
        Object.values(r) as SQLInputValue[]
      );
      if (!data.length) continue;
      const insert = to.prepare(
        `INSERT INTO "${name}" VALUES (${data[0].map(() => "?").join(",")})`,
      );
      started = performance.now();
      for (let i = 0; i < data.length; i += 5000) {
        to.exec("BEGIN");
        for (const row of data.slice(i, i + 5000)) insert.run(...row);
        to.exec("COMMIT");
      }
      persist_ms += performance.now() - started;
      rows += data.length;

      const columns = Object.keys(from.prepare(`SELECT * FROM "${name}" LIMIT 1`).get()!);
      raw.exec(`CREATE TABLE "${name}" (${columns.map((c) => `"${c}"`).join(", ")})`);
      const bareInsert = raw.prepare(
        `INSERT INTO "${name}" VALUES (${columns.map(() => "?").join(",")})`,
      );
      started = performance.now();
      raw.exec("BEGIN");
      for (const row of data) bareInsert.run(...row);
      raw.exec("COMMIT");
      raw_ms += performance.now() - started;
    }
    from.close();
    to.close();
    raw.close();
    for (const path of [copy, bare]) {
      for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(path + suffix).catch(() => {});
    }
  }
  return { parse_ms, persist_ms, raw_ms, rows };
}
