/**
 * The SQLite writer on its worker: batches commit in the order written and are visible to another
 * connection once the write resolves; a failing batch rolls back whole and rejects with the
 * worker's error; close waits for the writes sent before it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import { openDatabase } from "./_sqlite.ts";
import { sqliteWriter } from "./_sqlite_writer.ts";

const dir = await Deno.makeTempDir({ prefix: "ics-sqlite-writer-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
let file = 0;

const DDL = `CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, v TEXT NOT NULL) STRICT;`;
const INSERT = `INSERT INTO t VALUES (?, ?)`;
const UPDATE = `UPDATE t SET v = ? WHERE n = ?`;

/** A step of these rows. */
const step = (statement: number, rows: SQLInputValue[][]) => ({
  statement,
  width: rows[0].length,
  values: rows.flat(),
});

function setup() {
  const path = join(dir, `w-${++file}.db`);
  const reader = openDatabase(path, DDL);
  const rows = () => reader.prepare(`SELECT n, v FROM t ORDER BY n`).all().map((r) => ({ ...r }));
  return { path, reader, rows };
}

Deno.test("sqlite writer commits batches in the order written, each seen once it resolves", async () => {
  const { path, reader, rows } = setup();
  const writer = sqliteWriter(reader, path, [INSERT, UPDATE]);
  // Sent without waiting: the second batch updates a row the first inserts.
  const first = writer.write([step(0, [[1, "a"], [2, "b"]])]);
  const second = writer.write([step(1, [["B", 2]]), step(0, [[3, "c"]])]);
  await first;
  assert.ok(rows().length >= 2);
  await second;
  assert.deepEqual(rows(), [{ n: 1, v: "a" }, { n: 2, v: "B" }, { n: 3, v: "c" }]);
  await writer.close();
  reader.close();
});

Deno.test("sqlite writer: a failing batch rolls back whole and rejects with the worker's error", async () => {
  const { path, reader, rows } = setup();
  const writer = sqliteWriter(reader, path, [INSERT]);
  await writer.write([step(0, [[1, "a"]])]);
  // The second row breaks the primary key: the first of the batch must not stay either.
  await assert.rejects(
    writer.write([step(0, [[2, "b"], [1, "again"]])]),
    (error: Error & { code?: string }) => {
      assert.equal(error.constructor, Error); // not retriable: as on the main thread
      assert.match(error.message, /UNIQUE constraint failed: t\.n/);
      assert.equal(error.code, "ERR_SQLITE_ERROR");
      return true;
    },
  );
  assert.deepEqual(rows(), [{ n: 1, v: "a" }]);
  // The writer goes on: the next batch commits.
  await writer.write([step(0, [[2, "b"]])]);
  assert.deepEqual(rows().map((r) => r.n), [1, 2]);
  await writer.close();
  reader.close();
});

Deno.test("sqlite writer: close waits for the writes sent before it; a store never written starts no worker", async () => {
  const { path, reader, rows } = setup();
  const writer = sqliteWriter(reader, path, [INSERT]);
  const many = Array.from(
    { length: 20 },
    (_, b) =>
      writer.write([step(0, Array.from({ length: 100 }, (_, i) => [b * 100 + i, `v${b}`]))]),
  );
  await writer.close();
  await Promise.all(many);
  assert.equal(rows().length, 2000);
  // The file is closed by the worker: another connection can take the write lock at once.
  const other = new DatabaseSync(path);
  other.exec("BEGIN IMMEDIATE; ROLLBACK");
  other.close();
  // Closing a writer that never wrote is immediate (no worker to end).
  await sqliteWriter(reader, path, [INSERT]).close();
  reader.close();
});

Deno.test("sqlite writer: a file it cannot open fails the write, and close still ends the worker", async () => {
  const { reader } = setup();
  const writer = sqliteWriter(reader, join(dir, "missing", "folder", "x.db"), [INSERT]);
  await assert.rejects(writer.write([step(0, [[1, "a"]])]), /unable to open/);
  await writer.close();
  reader.close();
});

Deno.test("sqlite writer of an in-memory database writes on the opener's connection", async () => {
  const db = openDatabase(":memory:", DDL);
  const writer = sqliteWriter(db, ":memory:", [INSERT]);
  await writer.write([step(0, [[1, "a"]])]);
  await assert.rejects(writer.write([step(0, [[2, "b"], [1, "a"]])]), /UNIQUE/);
  assert.deepEqual(db.prepare(`SELECT n FROM t`).all().map((r) => r.n), [1]);
  await writer.close();
  db.close();
});
