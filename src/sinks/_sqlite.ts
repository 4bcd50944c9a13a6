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

export function pragmas(durability: Durability = "process"): string {
  const synchronous = durability === "power_loss" ? "FULL" : "NORMAL";
  return `PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous};
  PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;`;
}

/** Open (or create) a database and its schema; a full disk is reported with the file. */
export function openDatabase(path: string, ddl: string, durability?: Durability): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(pragmas(durability));
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
