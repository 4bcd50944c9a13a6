/**
 * File source checkpoints: how far each input was processed, kept in `<state>/checkpoints.json`
 * (one entry per input path) and replaced atomically after every acknowledged batch.
 * @module
 */
import { createHash } from "node:crypto";
import { readAt } from "./_lines.ts";
import { type Durability, replaceFileSync } from "../core/durable.ts";

/** Where reading resumes. */
export interface Resume {
  /**
   * Byte offset where reading resumes: the next line of a JSON Lines file, the block of an Avro
   * container file whose first `skip` items are done.
   */
  offset: number;
  /** JSON Lines: physical lines done (the next is `done + 1`). Avro: items (records) done. */
  done: number;
  /** Avro: items of the block at `offset` already done. */
  skip?: number;
  /**
   * Set when the input's incomplete end (a last line without its newline, a truncated Avro block)
   * was taken as complete: the file's size then. The file growing past it means the end was still
   * being written: the line or block at `offset` is read again whole.
   */
  tail?: number;
}

export interface Checkpoint extends Resume {
  /** SHA-256 (hex) of the file's first `head` bytes: another file under the same path differs. */
  fingerprint: string;
  head: number;
}

/** Bytes of a file's start that identify it. */
export const HEAD_BYTES = 1024;

export function fingerprintOf(head: Uint8Array): string {
  return createHash("sha256").update(head).digest("hex");
}

export function readCheckpoints(file: string): Record<string, Checkpoint> {
  try {
    return JSON.parse(Deno.readTextFileSync(file));
  } catch {
    return {};
  }
}

/**
 * Atomic replace (write then rename), so a kill never leaves a half-written checkpoint; fsynced
 * when the durability is `power_loss`.
 */
export function writeCheckpoint(
  file: string,
  path: string,
  checkpoint: Checkpoint,
  durability?: Durability,
): void {
  const all = readCheckpoints(file);
  all[path] = checkpoint;
  replaceFileSync(file, JSON.stringify(all, null, 2), durability);
}

/**
 * Where the last run stopped, if this is the file it read: its checkpoint's fingerprint matches
 * the file's first bytes and the file is not shorter than the checkpoint. Else the start.
 */
export async function resumeAt(
  input: Deno.FsFile,
  path: string,
  format: "jsonl" | "avro",
  size: number,
  head: Uint8Array,
  checkpoints: string,
  log: (level: "info" | "warn", message: string) => void,
): Promise<Resume> {
  const start = { offset: 0, done: 0 };
  const cp = readCheckpoints(checkpoints)[path];
  if (!cp) return start;
  if (typeof cp.offset !== "number" || typeof cp.head !== "number") {
    log(
      "info",
      `the checkpoint of input "${path}" is of an older ics (records, not bytes): it is read from its start (the sinks are idempotent)`,
    );
    return start;
  }
  if (cp.head > head.length || fingerprintOf(head.subarray(0, cp.head)) !== cp.fingerprint) {
    log("info", `input "${path}" is not the file the last run read: it is read from its start`);
    return start;
  }
  const end = cp.tail ?? cp.offset;
  if (size < end) {
    log(
      "warn",
      `input "${path}" holds ${size} bytes, fewer than the ${end} already read (truncated?): it is read from its start`,
    );
    return start;
  }
  if (cp.tail === undefined) return cp;
  // The last run took an incomplete end as complete. Unchanged: nothing new after it.
  if (size === cp.tail) return { offset: size, done: cp.done + (format === "jsonl" ? 1 : 0) };
  if (format === "jsonl") {
    // Only the newline was missing (the line held a whole event): read on after it.
    const next = await readAt(input, cp.tail, 2);
    if (next[0] === 10) return { offset: cp.tail + 1, done: cp.done + 1 };
    if (next[0] === 13 && next[1] === 10) return { offset: cp.tail + 2, done: cp.done + 1 };
  }
  log(
    "warn",
    `input "${path}" grew after its end at byte ${cp.tail} was taken as complete: ${
      format === "jsonl" ? `line ${cp.done + 1}` : `the Avro block at byte ${cp.offset}`
    } is read again whole`,
  );
  return { offset: cp.offset, done: cp.done, skip: cp.skip };
}
