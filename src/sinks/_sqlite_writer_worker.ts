/**
 * The worker side of `_sqlite_writer.ts`: owns a write connection to one SQLite file and runs each
 * batch it is sent as one transaction, in the order sent, answering each with its outcome.
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { Durability } from "../core/durable.ts";
import { openDatabase, WRITE_CACHE_KIB } from "./_sqlite.ts";
import { type Reply, type Request, runSteps, type SerializedError } from "./_sqlite_writer.ts";

interface WorkerScope {
  onmessage: ((e: MessageEvent<Request>) => void) | null;
  postMessage(message: Reply): void;
  close(): void;
}
const scope = self as unknown as WorkerScope;

let db: DatabaseSync | undefined;
let path = "";
let statements: StatementSync[] = [];

scope.onmessage = ({ data }) => {
  try {
    if (data.op === "open") {
      path = data.path;
      // The schema is the opener's (main thread) job: this connection only sets the pragmas.
      db = openDatabase(path, "", data.durability as Durability | undefined, WRITE_CACHE_KIB);
      statements = data.statements.map((sql) => db!.prepare(sql));
    } else if (data.op === "write") {
      runSteps(db!, path, statements, data.steps);
    } else {
      db?.close();
      db = undefined;
    }
    scope.postMessage({ id: data.id });
  } catch (error) {
    scope.postMessage({ id: data.id, error: serialize(error) });
  }
};

function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error) };
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    ...(typeof code === "string" ? { code } : {}),
    ...(error.cause !== undefined ? { cause: serialize(error.cause) } : {}),
  };
}
