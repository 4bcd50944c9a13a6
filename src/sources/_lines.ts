/**
 * The lines of a file, read once, in time linear in its size and memory bounded by the longest
 * line kept: a line over `max` bytes is measured to its end but only its first `keep` bytes are
 * held. Lines end at `\n`; a `\r` before it is not part of the line. Blank lines are lines too
 * (they count for the line numbers), and the last line may lack its newline (`terminated: false`).
 * @module
 */

const CHUNK = 64 * 1024;

export interface Line {
  /** Byte offset of the line's first byte. */
  offset: number;
  /** 1-based physical line number. */
  line: number;
  /** The line without its terminator; when over `max` bytes, only its first `keep` bytes. */
  bytes: Uint8Array;
  /** The line's length in bytes, without its terminator. */
  size: number;
  /** Byte offset just past the line and its newline (where the next line starts). */
  end: number;
  /** False for a last line without its newline. */
  terminated: boolean;
}

/** Lines from byte `start`, the first numbered `line`, a chunk's worth at a time. */
export async function* readLines(
  file: Deno.FsFile,
  start: number,
  line: number,
  max: number,
  keep: number,
): AsyncGenerator<Line[]> {
  await file.seek(start, Deno.SeekMode.Start);
  const buffer = new Uint8Array(CHUNK);
  let parts: Uint8Array[] = [];
  let held = 0; // bytes held in parts (at most max + 1: enough to tell a line is too long)
  let size = 0; // bytes of the current line so far, terminator excluded
  let last = -1; // its last byte (a `\r` before the newline is dropped)
  let offset = start;
  const take = (piece: Uint8Array) => {
    if (piece.length === 0) return;
    size += piece.length;
    last = piece[piece.length - 1];
    if (held <= max) {
      const kept = piece.subarray(0, max + 1 - held).slice();
      parts.push(kept);
      held += kept.length;
    }
  };
  const finish = (terminated: boolean): Line => {
    const length = terminated && last === 13 ? size - 1 : size;
    const bytes = length > max ? cut(join(parts, keep), keep) : join(parts, length);
    const end = offset + size + (terminated ? 1 : 0);
    const done: Line = { offset, line, bytes, size: length, end, terminated };
    parts = [];
    held = size = 0;
    last = -1;
    offset = end;
    line++;
    return done;
  };
  for (;;) {
    const n = await file.read(buffer);
    if (n === null) break;
    const chunk = buffer.subarray(0, n);
    const lines: Line[] = [];
    let from = 0;
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, from)) {
      take(chunk.subarray(from, i));
      from = i + 1;
      lines.push(finish(true));
    }
    take(chunk.subarray(from));
    if (lines.length) yield lines;
  }
  if (size > 0) yield [finish(false)];
}

/** The first `length` bytes held in `parts`, as one array. */
function join(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0].subarray(0, length);
  const out = new Uint8Array(Math.min(length, parts.reduce((n, p) => n + p.length, 0)));
  let at = 0;
  for (const p of parts) {
    if (at >= out.length) break;
    out.set(p.subarray(0, out.length - at), at);
    at += p.length;
  }
  return out;
}

/** At most `n` bytes, not ending inside a UTF-8 sequence (so a cut text stays text). */
export function cut(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length <= n) return bytes;
  let end = n;
  // Back off continuation bytes, then the lead byte of the sequence they belong to.
  while (end > 0 && end > n - 3 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

/** Only spaces, tabs and carriage returns. */
export function isBlank(line: Uint8Array): boolean {
  for (const b of line) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}

/** Up to `length` bytes at `offset` (fewer at the end of the file). */
export async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await file.read(out.subarray(at));
    if (n === null) break;
    at += n;
  }
  return out.subarray(0, at);
}
