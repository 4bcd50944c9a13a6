/**
 * The header of an Avro object container file: magic `Obj\x01`, metadata (a map of bytes: the
 * writer schema under `avro.schema`, the codec under `avro.codec`), the 16-byte sync marker.
 * @module
 */
import avro from "avsc";
import { UserError } from "../core/errors.ts";
import { readAt } from "./_lines.ts";

const MAGIC = [0x4f, 0x62, 0x6a, 0x01]; // "Obj" 1
export const SYNC = 16;
const MAX_HEADER = 16 * 1024 * 1024;

export interface Header {
  writer: avro.Type;
  codec: "null" | "deflate";
  sync: Uint8Array;
  /** Offset of the first block. */
  end: number;
}

/**
 * The header, or undefined when the file ends inside it. Throws a UserError (naming the file) when
 * it is no Avro container or not one ics can read.
 */
export async function readHeader(
  file: Deno.FsFile,
  size: number,
  path: string,
): Promise<Header | undefined> {
  for (let want = Math.min(size, 64 * 1024);; want = Math.min(size, want * 4)) {
    const header = headerOf(await readAt(file, 0, want), path);
    if (header) return header;
    if (want >= size) return undefined; // the file ends inside the header
    if (want >= MAX_HEADER) throw notAvro(path, `its header is longer than ${MAX_HEADER} bytes`);
  }
}

/**
 * The writer schema of an Avro container file, read from its header now (`ics dlq redrive`
 * decodes a letter's record with the schema that wrote it). Throws when the file cannot tell.
 */
export function writerOfFile(path: string): avro.Type {
  using file = Deno.openSync(path);
  const size = file.statSync().size;
  for (let want = Math.min(size, 64 * 1024);; want = Math.min(size, want * 4)) {
    const bytes = new Uint8Array(want);
    file.seekSync(0, Deno.SeekMode.Start);
    let at = 0;
    for (let n: number | null = 0; at < want && n !== null; at += n ?? 0) {
      n = file.readSync(bytes.subarray(at));
    }
    const header = headerOf(bytes.subarray(0, at), path);
    if (header) return header.writer;
    if (want >= size || want >= MAX_HEADER) throw notAvro(path, "its header is cut short");
  }
}

const notAvro = (path: string, why: string) =>
  new UserError(`input "${path}" is not an Avro object container file: ${why}`);

/** The header at the start of `bytes`, or undefined when they end inside it. */
function headerOf(bytes: Uint8Array, path: string): Header | undefined {
  for (let i = 0; i < MAGIC.length && i < bytes.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw notAvro(path, `it does not start with "Obj" 1`);
  }
  const meta = new Map<string, Uint8Array>();
  let at = MAGIC.length;
  let short = bytes.length < MAGIC.length;
  const long = () => {
    const v = short ? "short" : varlong(bytes, at);
    if (v === "short") short = true;
    if (v === "bad") throw notAvro(path, `its metadata is corrupt at byte ${at}`);
    if (typeof v !== "object") return 0;
    at = v.next;
    return v.value;
  };
  const field = () => {
    const n = long();
    if (n < 0) throw notAvro(path, `its metadata is corrupt at byte ${at}`);
    if (at + n > bytes.length) short = true;
    const v = bytes.subarray(at, at + n);
    at += n;
    return v;
  };
  for (let n = long(); n !== 0 && !short; n = long()) {
    if (n < 0) long(); // a block size follows a negative count
    for (let i = 0; i < Math.abs(n) && !short; i++) {
      const key = new TextDecoder().decode(field());
      meta.set(key, field());
    }
  }
  if (short || at + SYNC > bytes.length) return undefined;
  return parseHeader(meta, bytes.slice(at, at + SYNC), at + SYNC, path);
}

function parseHeader(
  meta: Map<string, Uint8Array>,
  sync: Uint8Array,
  end: number,
  path: string,
): Header {
  const text = (key: string) => {
    const v = meta.get(key);
    return v === undefined ? undefined : new TextDecoder().decode(v);
  };
  const schema = text("avro.schema");
  if (schema === undefined) throw notAvro(path, `its header has no "avro.schema"`);
  let writer: avro.Type;
  try {
    writer = avro.Type.forSchema(JSON.parse(schema));
  } catch (error) {
    throw notAvro(path, `its writer schema does not parse: ${(error as Error).message}`);
  }
  const codec = text("avro.codec") ?? "null";
  if (codec !== "null" && codec !== "deflate") {
    throw new UserError(
      `input "${path}" is compressed with Avro codec "${codec}"; ics reads "null" and "deflate"`,
    );
  }
  return { writer, codec, sync, end };
}

/** A zigzag varint (Avro long) at `at`: "short" when the bytes end first, "bad" past 2^53. */
export function varlong(
  bytes: Uint8Array,
  at: number,
): { value: number; next: number } | "short" | "bad" {
  let n = 0;
  let scale = 1;
  for (let i = at; i < at + 10; i++) {
    if (i >= bytes.length) return "short";
    const b = bytes[i];
    n += (b & 0x7f) * scale;
    scale *= 128;
    if (!(b & 0x80)) {
      if (n > Number.MAX_SAFE_INTEGER) return "bad";
      return { value: n % 2 === 1 ? -(n + 1) / 2 : n / 2, next: i + 1 };
    }
  }
  return "bad";
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
