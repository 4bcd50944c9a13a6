/**
 * SQLite writes on a worker thread. node:sqlite is synchronous: a batch's inserts on the main
 * thread stop the whole pipeline while they run. A writer hands each batch's rows, prepared on the
 * main thread, to a worker that owns a second connection to the file and runs the batch as one
 * transaction, so the next batch is decoded and correlated while this one is written.
 *
 * - A write resolves only once the worker committed its transaction (the runtime acknowledges the
 *   source after that), and rejects with the worker's error, rebuilt with its class (retriable,
 *   permanent, fenced or any other), message, code and cause.
 * - Batches are committed in the order they were written: one worker, one message at a time.
 * - `close()` waits for the writes sent before it, closes the connection and ends the worker.
 * - The worker starts with the first write: a store opened only to read never starts one.
 * - Reads stay on the opener's connection: WAL lets them see every committed write.
 * - An in-memory database (`:memory:`, the policy tools' scratch graph) is private to its
 *   connection: its batches run on the opener's connection, on this thread, as before.
 * @module
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { Durability } from "../core/durable.ts";
import { fault, type FaultPoint } from "../core/fault.ts";
import { FencedError, PermanentError, RetriableError } from "../core/errors.ts";
import { transaction } from "./_sqlite.ts";

/**
 * One step of a batch: a statement run once per row, or a fault point (crash tests). The rows are
 * one flat list of values, `width` a row: far fewer objects to copy to the worker, and to collect.
 */
export type Step = { statement: number; width: number; values: SQLInputValue[] } | {
  fault: FaultPoint;
};

export type Request =
  | {
    id: number;
    op: "open";
    path: string;
    durability?: Durability;
    /** The statements steps refer to, by index. */
    statements: string[];
  }
  | { id: number; op: "write"; steps: Step[] }
  | { id: number; op: "close" };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
  cause?: SerializedError;
}

export interface Reply {
  id: number;
  error?: SerializedError;
}

export interface SqliteWriter {
  /** Run the steps in one transaction on the worker; resolves once it is committed. */
  write(steps: Step[]): Promise<void>;
  /** Wait for the writes sent, close the worker's connection and end it. */
  close(): Promise<void>;
}

/** A writer of the file `db` has open (`db` itself writes an in-memory database). */
export function sqliteWriter(
  db: DatabaseSync,
  path: string,
  statements: string[],
  durability?: Durability,
): SqliteWriter {
  if (path === ":memory:" || path === "" || /^file:.*mode=memory/.test(path)) {
    return inline(db, path, statements);
  }
  let worker: Worker | undefined;
  let next = 0;
  let failure: Error | undefined; // the worker died: every later call fails with this
  const pending = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();

  const send = (request: Request) =>
    new Promise<void>((resolve, reject) => {
      if (failure) return reject(failure);
      pending.set(request.id, { resolve, reject });
      worker!.postMessage(request);
    });

  const start = () => {
    worker = new Worker(new URL("./_sqlite_writer_worker.ts", import.meta.url), {
      type: "module",
    });
    worker.onmessage = ({ data }: MessageEvent<Reply>) => {
      const call = pending.get(data.id);
      pending.delete(data.id);
      if (data.error) call?.reject(rebuild(data.error));
      else call?.resolve();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      failure = new Error(`SQLite writer of ${path} failed: ${event.message}`);
      for (const call of pending.values()) call.reject(failure);
      pending.clear();
      worker?.terminate();
    };
    // The opening's own failure (a file it cannot open) is the first write's.
    return send({ id: next++, op: "open", path, durability, statements });
  };

  let opened: Promise<void> | undefined;
  return {
    async write(steps) {
      opened ??= start();
      const written = send({ id: next++, op: "write", steps });
      await Promise.all([opened, written]); // both handled: a failed opening fails this write
    },
    async close() {
      if (!worker) return;
      const w = worker;
      worker = undefined;
      try {
        if (!failure) {
          await new Promise<void>((resolve, reject) => {
            const id = next++;
            pending.set(id, { resolve, reject });
            w.postMessage({ id, op: "close" } satisfies Request);
          });
        }
      } finally {
        w.terminate();
      }
    },
  };
}

/** The steps run on `db` itself, on this thread. */
export function runSteps(
  db: DatabaseSync,
  path: string,
  statements: { run(...values: SQLInputValue[]): unknown }[],
  steps: Step[],
): void {
  transaction(db, path, () => {
    for (const step of steps) {
      if ("fault" in step) fault(step.fault);
      else {
        const { width, values } = step, statement = statements[step.statement];
        for (let i = 0; i < values.length; i += width) {
          statement.run(...values.slice(i, i + width));
        }
      }
    }
  });
}

function inline(db: DatabaseSync, path: string, statements: string[]): SqliteWriter {
  const prepared = statements.map((sql) => db.prepare(sql));
  return {
    write: (steps) => Promise.resolve().then(() => runSteps(db, path, prepared, steps)),
    close: () => Promise.resolve(),
  };
}

/** The worker's error as the store would have thrown it on this thread. */
function rebuild(e: SerializedError): Error {
  const options = e.cause ? { cause: rebuild(e.cause) } : undefined;
  const error = e.name === "RetriableError"
    ? new RetriableError(e.message, options)
    : e.name === "PermanentError"
    ? new PermanentError(e.message, options)
    : e.name === "FencedError"
    ? new FencedError(e.message, options)
    : new Error(e.message, options);
  if (e.code !== undefined) Object.assign(error, { code: e.code });
  if (e.stack) error.stack = e.stack;
  return error;
}
