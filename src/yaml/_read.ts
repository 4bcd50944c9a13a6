/**
 * Reading a config file (a spec, a rule file, an Avro schema, a rule test or labels file): config
 * is reviewed text that CI runs, so only a regular file is read (a folder, a FIFO or `/dev/zero`
 * would never end) and only up to a size limit, checked before and while reading.
 * @module
 */
import { isAbsolute, relative, sep } from "node:path";
import type { SpecError } from "./_parse.ts";

/** The largest spec, rule or Avro schema file read (1 MiB; the shipped ones are a few KB). */
export const MAX_FILE_BYTES = 1 << 20;

export class NotAFile extends Error {}
export class TooLarge extends Error {}

/** A regular file's text, at most `limit` bytes; a folder or a device is refused unread. */
export async function readRegular(path: string, limit = MAX_FILE_BYTES): Promise<string> {
  const info = await Deno.stat(path);
  if (!info.isFile) throw new NotAFile(path);
  if (info.size > limit) throw new TooLarge(path);
  using file = await Deno.open(path);
  // The file may grow after stat(): read on until its end, but never past the limit.
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length <= limit) {
    const chunk = new Uint8Array(Math.min(info.size + 1, 1 << 16));
    const n = await file.read(chunk);
    if (n === null) break;
    chunks.push(chunk.subarray(0, n));
    length += n;
  }
  if (length > limit) throw new TooLarge(path);
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) bytes.set(chunk, at), at += chunk.length;
  return new TextDecoder().decode(bytes);
}

/** "1 MiB (1048576 bytes)": a limit as the messages say it. */
export function sizeText(bytes: number): string {
  const mib = bytes / (1 << 20);
  return `${Number.isInteger(mib) ? mib : mib.toFixed(1)} MiB (${bytes} bytes)`;
}

/**
 * A config file's text, or the positioned problem (at 1:1) saying why it was not read: missing or
 * unreadable, not a regular file, larger than `limit`. `file` is the name errors show.
 */
export async function readConfigFile(
  path: string,
  file: string,
  what = "spec, rule and schema files",
  limit = MAX_FILE_BYTES,
): Promise<string | SpecError> {
  const text = await readRegular(path, limit).catch((e) => e as Error);
  if (!(text instanceof Error)) return text;
  const message = text instanceof TooLarge
    ? `file is larger than ${sizeText(limit)}, the limit for ${what}`
    : text instanceof NotAFile
    ? "is not a file"
    : "file cannot be read";
  return { file, line: 1, column: 1, path: "", message };
}

/** How errors name a file: relative to the working directory when inside it, else absolute. */
export function shortName(path: string): string {
  const rel = relative(Deno.cwd(), path);
  return rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel) ? path : rel;
}
