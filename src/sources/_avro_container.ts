/**
 * Avro object container files, read block by block with the file's own writer schema.
 *
 * A file is a header (magic `Obj\x01`, metadata with `avro.schema` and `avro.codec`, a 16-byte
 * sync marker) and blocks (record count, byte size, the records, the sync marker again). Records
 * are handed on still encoded, with the writer schema: the decoder resolves it to the stream's
 * schema (fields by name, defaults for fields the writer lacks).
 *
 * Nothing readable is lost to a bad block, and nothing bad passes silently; each problem becomes
 * one dead letter (`decode_error`, the file and byte offset in its reason and position):
 * - a block whose sync marker, size or count is wrong: the bytes up to the next sync marker
 *   (found by scanning, as the Avro spec intends markers to be used), reading goes on after it;
 * - a record that does not decode in a well-framed block: the rest of that block;
 * - a file cut short inside a block (and no longer written): its whole records are read, the
 *   rest of the block is the letter.
 * A file cut inside its header has nothing readable: that is an error naming the file.
 * @module
 */
import type avro from "avsc";
import { Buffer } from "node:buffer";
import { constants, inflateRawSync } from "node:zlib";
import type { RawRecord } from "../core/types.ts";
import { UserError } from "../core/errors.ts";
import type { Resume } from "./_checkpoint.ts";
import { readAt } from "./_lines.ts";
import { equal, type Header, readHeader, SYNC, varlong } from "./_avro_header.ts";

/** What to do with an incomplete end of the input (see `file.ts`). */
export type TailVerdict = "complete" | "retry" | "hold";

export interface Item {
  record: RawRecord;
  /** Where reading resumes once this item is done. */
  after: Resume;
}

export interface AvroOptions {
  path: string;
  stream?: string;
  from: Resume;
  /** Bytes kept of a bad region over `max` bytes (its letter's payload). */
  max: number;
  keep: number;
  /** Asked when the file ends inside the header or a block. */
  tail: (what: string, seen: number) => Promise<TailVerdict>;
}

const MAX_BLOCK = 256 * 1024 * 1024;

/** The file's items (records and dead letters) from `from`. */
export async function* avroItems(file: Deno.FsFile, o: AvroOptions): AsyncGenerator<Item> {
  let size = (await file.stat()).size;
  if (size === 0) return;
  let header: Header | undefined;
  while (!header) {
    header = await readHeader(file, size, o.path);
    if (header) break;
    const verdict = await o.tail("the Avro header", size);
    if (verdict === "hold") return;
    if (verdict === "complete") {
      throw new UserError(
        `input "${o.path}" is cut short: it ends at byte ${size}, inside its Avro header`,
      );
    }
    size = (await file.stat()).size;
  }
  const { writer, sync } = header;
  const fresh = o.from.offset < header.end;
  let pos = fresh ? header.end : o.from.offset;
  let skip = fresh ? 0 : o.from.skip ?? 0;
  let base = fresh ? 0 : o.from.done - skip; // items before the block at `pos`
  const record = (value: Uint8Array, n: number, at: number): RawRecord => ({
    ...(o.stream ? { stream: o.stream } : {}),
    value,
    format: "avro",
    writer,
    position: { kind: "file", path: o.path, line: n, offset: at },
  });
  const letter = (value: Uint8Array, n: number, at: number, reason: string): RawRecord => ({
    ...record(value.length > o.max ? value.subarray(0, o.keep) : value, n, at),
    invalid: {
      category: "decode_error",
      reason: `${reason}${
        value.length > o.max ? `; the letter keeps its first ${o.keep} bytes` : ""
      }`,
    },
  });
  /** A bad region [pos, end): one letter, reading goes on at `end`. */
  const skipRegion = async (end: number, why: string): Promise<Item> => {
    const bytes = await readAt(file, pos, Math.min(end - pos, o.max + 1));
    const item = {
      record: letter(
        bytes,
        base + 1,
        pos,
        `corrupt Avro block at byte ${pos} of "${o.path}": ${why}; ${
          end >= size
            ? `no sync marker follows, the last ${end - pos} bytes are skipped`
            : `skipped ${end - pos} bytes to the next sync marker`
        }`,
      ),
      after: { offset: end, done: base + 1, skip: 0 },
    };
    base++;
    pos = end;
    skip = 0;
    return item;
  };
  const nextSync = async (from: number) => {
    const at = await findSync(file, sync, from, size);
    return at === -1 ? size : at + SYNC;
  };

  /**
   * Whether a block whose sync marker is damaged is still framed right: its data is exactly its
   * count of records, or a sound block (its own marker where it says) follows where it ends.
   */
  const framed = async (data: Uint8Array, count: number, end: number): Promise<boolean> => {
    if (header!.codec === "null") {
      const pieces = split(data, count);
      if (pieces.length === count && !pieces.some((p) => p.reason)) return true;
    }
    const next = await readAt(file, end, 20);
    const c = varlong(next, 0);
    const l = typeof c === "object" ? varlong(next, c.next) : c;
    if (typeof c !== "object" || typeof l !== "object" || c.value < 0 || l.value < 0) return false;
    const marker = await readAt(file, end + l.next + l.value, SYNC);
    return equal(marker, sync);
  };
  const split = (data: Uint8Array, count: number) =>
    splitWith(writer, data, count, `byte ${pos} of "${o.path}"`);

  while (pos < size) {
    const head = await readAt(file, pos, 20);
    const count = varlong(head, 0);
    const length = typeof count === "object" ? varlong(head, count.next) : count;
    if (typeof count !== "object" || typeof length !== "object") {
      if ((count === "short" || length === "short") && pos + head.length >= size) {
        // The file ends inside the block's header.
        const verdict = await o.tail(`the Avro block at byte ${pos}`, size);
        if (verdict === "hold") return;
        if (verdict === "retry") {
          size = (await file.stat()).size;
          continue;
        }
        yield* cutShort(head, "inside the header of the block", 0, () => []);
        return;
      }
      yield await skipRegion(await nextSync(pos), "its record count or size is not a number");
      continue;
    }
    if (count.value < 0 || length.value < 0 || length.value > MAX_BLOCK) {
      yield await skipRegion(
        await nextSync(pos),
        `it declares ${count.value} records in ${length.value} bytes`,
      );
      continue;
    }
    const start = pos + length.next;
    const blockEnd = start + length.value + SYNC;
    if (blockEnd > size) {
      const at = await findSync(file, sync, start, size);
      if (at !== -1) {
        yield await skipRegion(at + SYNC, `it declares ${length.value} bytes, past the next sync`);
        continue;
      }
      const verdict = await o.tail(`the Avro block at byte ${pos}`, size);
      if (verdict === "hold") return;
      if (verdict === "retry") {
        size = (await file.stat()).size;
        continue;
      }
      const rest = await readAt(file, start, Math.min(size - start, length.value));
      yield* cutShort(
        rest,
        `inside the block at byte ${pos} (${count.value} records in ${length.value} bytes declared)`,
        count.value,
        () => {
          if (header!.codec !== "deflate") return split(rest, count.value);
          try {
            const data = inflateRawSync(rest, { finishFlush: constants.Z_SYNC_FLUSH });
            return split(data, count.value);
          } catch {
            return [];
          }
        },
      );
      return;
    }
    const body = await readAt(file, start, length.value + SYNC);
    const marked = equal(body.subarray(length.value), sync);
    if (!marked && !(await framed(body.subarray(0, length.value), count.value, blockEnd))) {
      yield await skipRegion(
        await nextSync(pos + 1),
        `no sync marker where its ${length.value} bytes end`,
      );
      continue;
    }
    let data: Uint8Array;
    try {
      data = header.codec === "deflate"
        ? inflateRawSync(body.subarray(0, length.value))
        : body.subarray(0, length.value);
    } catch (error) {
      yield await skipRegion(blockEnd, `its data does not inflate (${(error as Error).message})`);
      continue;
    }
    const items = split(data, count.value);
    if (!marked) {
      // Only the marker is damaged: the block's records are read, the marker is the letter.
      items.unshift({
        bytes: body.subarray(length.value),
        reason: `damaged sync marker at byte ${
          blockEnd - SYNC
        } of "${o.path}", after the Avro block at byte ${pos}; the block's size and count hold, so its records are read`,
      });
    }
    for (const [i, it] of items.entries()) {
      if (i < skip) continue;
      yield {
        record: it.reason
          ? letter(it.bytes, base + i + 1, pos, it.reason)
          : record(it.bytes, base + i + 1, pos),
        after: i === items.length - 1
          ? { offset: blockEnd, done: base + i + 1, skip: 0 }
          : { offset: pos, done: base + i + 1, skip: i + 1 },
      };
    }
    base += items.length;
    skip = 0;
    pos = blockEnd;
    if (pos >= size) size = (await file.stat()).size;
  }

  /**
   * The file ends inside the block at `pos` and is no longer written: the whole records of what
   * is there, then one letter for the rest. The last item marks the end as taken (`tail`), so if
   * the file grows after all, the block is read again past the items done.
   */
  function* cutShort(
    rest: Uint8Array,
    where: string,
    count: number,
    pieces: () => Piece[],
  ): Generator<Item> {
    const whole = pieces().filter((it) => !it.reason);
    const items: Item[] = whole.map((it, i) => ({
      record: record(it.bytes, base + i + 1, pos),
      after: { offset: pos, done: base + i + 1, skip: i + 1 },
    }));
    const k = whole.length;
    if (k < count || count === 0) {
      // Plain data: the letter holds the bytes after the whole records; deflated: all of them.
      const used = whole.reduce((n, it) => n + it.bytes.length, 0);
      items.push({
        record: letter(
          header!.codec === "deflate" ? rest : rest.subarray(used),
          base + k + 1,
          pos,
          `Avro file "${o.path}" is cut short: it ends at byte ${size}, ${where}; ${k} whole records were read, the rest is lost`,
        ),
        after: { offset: pos, done: base + k, skip: k },
      });
    }
    if (items.length) items[items.length - 1].after.tail = size;
    yield* items.filter((_, i) => i >= skip);
  }
}

interface Piece {
  bytes: Uint8Array;
  /** Set for the letter standing for what could not be split. */
  reason?: string;
}

/**
 * A block's data as its records (each still encoded), found by decoding with the writer schema.
 * What does not decode, or does not add up to the declared count, ends in one piece with a reason.
 */
function splitWith(writer: avro.Type, data: Uint8Array, count: number, at: string): Piece[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const out: Piece[] = [];
  let p = 0;
  while (out.length < count && p < buf.length) {
    let next: number;
    try {
      next = writer.decode(buf, p).offset;
    } catch {
      next = -1;
    }
    if (next <= p) break;
    out.push({ bytes: data.subarray(p, next) });
    p = next;
  }
  const k = out.length;
  if (k < count) {
    out.push({
      bytes: data.subarray(p),
      reason: p < buf.length
        ? `record ${
          k + 1
        } of ${count} of the Avro block at ${at} does not decode with the file's writer schema; the block's last ${
          buf.length - p
        } bytes are dead-lettered`
        : `the Avro block at ${at} declares ${count} records, its data holds ${k}`,
    });
  } else if (p < buf.length) {
    out.push({
      bytes: data.subarray(p),
      reason: `the Avro block at ${at} holds ${buf.length - p} bytes after its ${count} records`,
    });
  }
  return out;
}

/** Offset of the first sync marker in [from, end), or -1. */
async function findSync(
  file: Deno.FsFile,
  sync: Uint8Array,
  from: number,
  end: number,
): Promise<number> {
  const CHUNK = 1024 * 1024;
  for (let at = from; at < end; at += CHUNK - SYNC + 1) {
    const bytes = await readAt(file, at, Math.min(CHUNK, end - at));
    for (let i = bytes.indexOf(sync[0]); i !== -1; i = bytes.indexOf(sync[0], i + 1)) {
      if (i + SYNC > bytes.length) break;
      if (equal(bytes.subarray(i, i + SYNC), sync)) return at + i;
    }
    if (bytes.length < CHUNK) break;
  }
  return -1;
}
