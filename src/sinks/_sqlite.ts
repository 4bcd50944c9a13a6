/**
 * What the SQLite stores (graph, metrics) share: how a database is opened for the durability
 * asked, and a transaction that reports a full disk as such.
 *
 * WAL mode: readers never block the writer, and a killed process leaves a consistent file. With
 * `synchronous = NORMAL` (durability `process`) a commit survives a killed process but not
 * necessarily a power loss (the last transactions may roll back; the file stays consistent);
 * `FULL` (`power_loss`) fsyncs the WAL at every commit.
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { type Durability, writeError } from "../core/durable.ts";

/** Page cache of a connection that reads (queries, iterations reloaded), in KiB. */
export const READ_CACHE_KIB = 65536;
/**
 * Page cache of a write connection (`_sqlite_writer.ts`), in KiB. A batch's inserts touch few
 * pages (fact ids are clustered by iteration; metrics are appended), so a small cache costs no
 * throughput, and each cache fills up to its size in the long run.
 */
export const WRITE_CACHE_KIB = 8192;

export function pragmas(durability: Durability = "process", cacheKib = READ_CACHE_KIB): string {
  const synchronous = durability === "power_loss" ? "FULL" : "NORMAL";
  return `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};
  PRAGMA busy_timeout = 5000; PRAGMA cache_size = -${cacheKib}; PRAGMA temp_store = MEMORY;`;
}

/** Open (or create) a database and its schema; a full disk is reported with the file. */
export function openDatabase(
  path: string,
  ddl: string,
  durability?: Durability,
  cacheKib?: number,
): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(pragmas(durability, cacheKib));
    db.exec(ddl);
  } catch (error) {
    db.close();
    throw writeError(path, error);
  }
  return db;
}

/**
 * Run `fn` in one transaction. On a full disk SQLite may already have rolled the transaction
 * back itself (a ROLLBACK then fails with "no transaction is active", which would hide the
 * cause); the error thrown is the cause, a full disk named with the file.
 */
export function transaction(db: DatabaseSync, path: string, fn: () => void): void {
  db.exec("BEGIN");
  try {
    fn();
    db.exec("COMMIT");
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw writeError(path, error);
  }
}
