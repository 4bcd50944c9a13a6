/**
 * Writing local state (the dead-letter file, the file source's checkpoint, the redrive cursors)
 * so that it holds what the acknowledgement after it promises, and failing loudly when it cannot.
 *
 * - Every write is whole or an error: a short write (a full disk accepts part of a buffer) is
 *   continued until everything is written, and a write that fails leaves the file as it was.
 * - {@link Durability}: `process` (default) survives a killed process: data handed to the kernel
 *   is safe. `power_loss` also survives a crash of the machine: files are fsynced (and the folder,
 *   when an entry was created or renamed) before the write returns, i.e. before the ack.
 * - A full disk is named as such, with the file: `disk full writing .ics/dlq.jsonl: ...`.
 * @module
 */
import { dirname, relative } from "node:path";

/** What a write must survive before the batch it belongs to is acknowledged. */
export type Durability = "process" | "power_loss";

export const DURABILITIES = ["process", "power_loss"] as const satisfies readonly Durability[];

/** Whether an error says the disk (or the user's quota) is full: the OS's or SQLite's words. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  const message = error instanceof Error ? error.message : String(error);
  return /No space left on device|Disk quota exceeded|database or disk is full/i.test(message);
}

/** A path as people read it: relative to the working folder when inside it. */
export function displayPath(path: string): string {
  const inside = relative(Deno.cwd(), path);
  return inside && !inside.startsWith("..") && !inside.startsWith("/") ? inside : path;
}

/**
 * The error to report for a failed write of `path`: a full disk becomes one line naming the
 * condition and the file; anything else is returned as it is.
 */
export function writeError(path: string, error: unknown): unknown {
  if (!isDiskFull(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`disk full writing ${displayPath(path)}: ${message}`, { cause: error });
}

/** Append all of `bytes` to a file (created if missing), or nothing: a failed append is undone. */
export async function appendAll(
  path: string,
  bytes: Uint8Array,
  durability: Durability = "process",
): Promise<void> {
  using f = await Deno.open(path, { append: true, create: true });
  const start = (await f.stat()).size;
  try {
    for (let written = 0; written < bytes.length;) {
      written += await f.write(bytes.subarray(written));
    }
    if (durability === "power_loss") {
      await f.sync();
      if (start === 0) syncFolder(path); // a new file's name must survive too
    }
  } catch (error) {
    // Cut what part of the append reached the file: the next append starts on a line of its own.
    await f.truncate(start).catch(() => {});
    throw writeError(path, error);
  }
}

/**
 * Replace a file atomically (write a temporary file, then rename), so a kill never leaves it
 * half-written; `power_loss` syncs the temporary file before the rename and the folder after.
 */
export function replaceFileSync(path: string, text: string, durability: Durability = "process") {
  const tmp = `${path}.tmp`;
  try {
    using f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    const bytes = new TextEncoder().encode(text);
    for (let written = 0; written < bytes.length;) {
      written += f.writeSync(bytes.subarray(written));
    }
    if (durability === "power_loss") f.syncSync();
  } catch (error) {
    try {
      Deno.removeSync(tmp); // frees the space it took
    } catch { /* never created */ }
    throw writeError(path, error);
  }
  Deno.renameSync(tmp, path);
  if (durability === "power_loss") syncFolder(path);
}

/** fsync a file's folder: what makes a created or renamed entry survive a power loss. */
function syncFolder(path: string) {
  using dir = Deno.openSync(dirname(path), { read: true });
  dir.syncSync();
}
