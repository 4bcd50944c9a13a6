/**
 * The letters of a JSON Lines dead-letter file (see `dlq.ts` for what a cursor means). Cursors are
 * byte offsets kept in `<file>.redrive.json`: `all` for redrives of every category, one per
 * category. They are tied to a hash of the file's first line, so a new file starts over. Only the
 * bytes present at start are read: letters that fail again during the redrive are appended to
 * the same file and wait for the next one.
 * @module
 */
import { resolve } from "node:path";
import type { Context, Source, SourceBatch } from "../core/component.ts";
import type { DlqCategory, RawRecord } from "../core/types.ts";
import { sha256 } from "../core/hash.ts";
import { replaceFileSync } from "../core/durable.ts";
import { type DeadLetter, decodeLine } from "../dead_letters/mod.ts";

interface Cursors {
  /** Hash of the file's first line. */
  first: string;
  all: number;
  categories: Partial<Record<DlqCategory, number>>;
}

/** What the file reader takes of the `dlq` source's config. */
interface Options {
  category?: DlqCategory;
  dry_run: boolean;
  batch_size: number;
}

export function fileLetters(
  config: Options,
  path: string,
  ctx: Context,
  toRecord: (l: DeadLetter) => RawRecord,
): Source {
  const file = resolve(ctx.stateDir, path);
  const cursorFile = `${file}.redrive.json`;
  return {
    async *batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      const size = (await Deno.stat(file).catch(() => undefined))?.size ?? 0;
      let cursors: Cursors | undefined;
      let records: RawRecord[] = [];
      let end = 0;
      const flush = (): SourceBatch => {
        const batch = { records, end };
        records = [];
        return {
          records: batch.records,
          ack: () => {
            if (config.dry_run) return Promise.resolve();
            if (config.category) cursors!.categories[config.category] = batch.end;
            else cursors!.all = batch.end;
            replaceFileSync(cursorFile, JSON.stringify(cursors, null, 2), ctx.durability);
            return Promise.resolve();
          },
        };
      };
      for await (const line of lines(file, size)) {
        if (!cursors) cursors = readCursors(cursorFile, sha256(line.text));
        const letter = decodeLine(line.text);
        if (!letter) {
          ctx.log("warn", `dlq: ${file}:${line.number} is not a dead letter; skipped`);
          continue;
        }
        if (config.category && letter.category !== config.category) continue;
        const past = Math.max(cursors.all, cursors.categories[letter.category] ?? 0);
        if (line.start < past) continue;
        records.push(toRecord(letter));
        end = line.end;
        if (records.length >= config.batch_size) {
          yield flush();
          if (signal.aborted) return;
        }
      }
      if (records.length) yield flush();
    },
    check: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** The non-blank lines of the first `size` bytes of a file, with their byte range. */
async function* lines(file: string, size: number) {
  if (size === 0) return;
  using f = await Deno.open(file);
  const decoder = new TextDecoder();
  let carry = new Uint8Array(0);
  let base = 0; // file offset of carry[0]
  let read = 0;
  let number = 0;
  const buffer = new Uint8Array(64 * 1024);
  while (read < size) {
    const n = await f.read(buffer.subarray(0, Math.min(buffer.length, size - read)));
    if (n === null) break;
    read += n;
    const data = new Uint8Array(carry.length + n);
    data.set(carry);
    data.set(buffer.subarray(0, n), carry.length);
    let from = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, from)) {
      number++;
      const text = decoder.decode(data.subarray(from, i)).trim();
      if (text) yield { text, number, start: base + from, end: base + i + 1 };
      from = i + 1;
    }
    carry = data.slice(from);
    base += from;
  }
  // A last line without its newline may be a letter still being written: left for next time.
}

function readCursors(file: string, first: string): Cursors {
  try {
    const c = JSON.parse(Deno.readTextFileSync(file)) as Cursors;
    if (c.first === first) return c;
  } catch { /* none yet */ }
  return { first, all: 0, categories: {} };
}
