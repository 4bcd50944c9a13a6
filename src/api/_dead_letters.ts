/**
 * Dead letters for the API: pages of a target's queue, read as they are stored. A file queue (JSON
 * Lines) is read from the byte offset the cursor holds, line by line, until the page is full: a
 * page costs the lines it reads, never the whole file. A Kafka queue is not read by the API (a
 * consumer of the dead-letter topic, or `ics dlq redrive --dry-run`, reads it).
 * @module
 */
import type { DeadLetter, DlqCategory } from "../core/types.ts";
import { decodeLine } from "../dead_letters/mod.ts";
import { redact } from "../core/secrets.ts";
import { badInput } from "./_values.ts";

export interface LetterAt {
  letter: DeadLetter;
  /** Byte offset after the letter's line: the cursor of the letters that follow. */
  next: number;
}

export interface DeadLetterSource {
  /** At most `first` letters after byte offset `after`, of a category, dead-lettered by `known_at`. */
  page(
    q: { category?: DlqCategory; after?: number; first: number; known_at?: number },
  ): Promise<LetterAt[]>;
}

const NEWLINE = 0x0a;

/** The letters of a JSON Lines queue file (absent: none yet). A last line still unfinished is skipped. */
export function fileDeadLetters(path: string): DeadLetterSource {
  return {
    async page(q) {
      const out: LetterAt[] = [];
      if (q.first === 0) return out;
      let file: Deno.FsFile;
      try {
        file = await Deno.open(path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return out;
        throw error;
      }
      try {
        let offset = q.after ?? 0;
        await file.seek(offset, Deno.SeekMode.Start);
        const decoder = new TextDecoder();
        let pending = new Uint8Array(0);
        const chunk = new Uint8Array(64 * 1024);
        while (out.length < q.first) {
          const n = await file.read(chunk);
          if (n === null) break;
          const joined = new Uint8Array(pending.length + n);
          joined.set(pending), joined.set(chunk.subarray(0, n), pending.length);
          let start = 0;
          for (let i = joined.indexOf(NEWLINE); i !== -1; i = joined.indexOf(NEWLINE, start)) {
            const line = joined.subarray(start, i);
            offset += line.length + 1;
            start = i + 1;
            const letter = decodeLine(decoder.decode(line));
            if (
              letter && (q.category === undefined || letter.category === q.category) &&
              (q.known_at === undefined || letter.time <= q.known_at)
            ) {
              out.push({ letter: { ...letter, reason: redact(letter.reason) }, next: offset });
              if (out.length >= q.first) break;
            }
          }
          pending = joined.slice(start);
        }
        return out;
      } finally {
        file.close();
      }
    },
  };
}

/** A queue the API does not read: every page is an error saying so. */
export function unreadDeadLetters(what: string): DeadLetterSource {
  return {
    page: () =>
      Promise.reject(
        badInput(
          `dead letters are served from a file queue; this target's queue is ${what}: read the ` +
            "topic with a Kafka consumer, or `ics dlq redrive --dry-run`",
        ),
      ),
  };
}
