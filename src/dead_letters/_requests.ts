/**
 * Dead letters in produce requests a broker accepts. A broker refuses a record batch larger than
 * the topic's `max.message.bytes` (the broker's `message.max.bytes` unless the topic overrides it;
 * 1 MB by default), and a burst of letters from one batch easily makes more: so the letters are
 * split into requests of at most that size (every request then also stays under the Java client's
 * `max.request.size` and the broker's `socket.request.max.bytes`). The queue sends them in one
 * transaction, so splitting changes nothing of what readers see.
 *
 * A single letter larger than the limit (a poison event of 2 MB, say) keeps its first bytes: the
 * payload is cut to fit, the header `ics.truncated` gives the original size, and the reason says
 * so and where the whole record is (the source topic keeps it for its retention time).
 * @module
 */
import { Buffer } from "node:buffer";
import type { DeadLetter } from "../core/types.ts";
import { describePosition } from "./_letter.ts";
import { HEADERS, type LetterMessage, toMessage } from "./_kafka.ts";

/** A record batch's header (magic v2), before its records. */
const BATCH_OVERHEAD = 61;

/** The most a message takes in a record batch (varints at their longest). */
export function messageBytes(m: LetterMessage): number {
  let n = 41 + byteLength(m.key ?? "") + m.value.length;
  for (const [k, v] of Object.entries(m.headers)) n += 10 + byteLength(k) + byteLength(v);
  return n;
}

/** The letters as messages, in requests of at most `maxBytes` each, in order. */
export function inRequests(letters: DeadLetter[], maxBytes: number): LetterMessage[][] {
  const budget = maxBytes - BATCH_OVERHEAD;
  const requests: LetterMessage[][] = [];
  let request: LetterMessage[] = [];
  let size = 0;
  for (const letter of letters) {
    let m = toMessage(letter);
    let n = messageBytes(m);
    if (n > budget) {
      m = truncated(letter, m, budget);
      n = messageBytes(m);
    }
    if (size + n > budget && request.length) {
      requests.push(request);
      request = [];
      size = 0;
    }
    request.push(m);
    size += n;
  }
  if (request.length) requests.push(request);
  return requests;
}

/** The message of a letter too large for one request: its payload cut to fit, and saying so. */
function truncated(letter: DeadLetter, m: LetterMessage, budget: number): LetterMessage {
  const total = m.value.length;
  const note = (kept: number) =>
    `${letter.reason} [payload truncated to ${kept} of ${total} bytes: the dead-letter topic ` +
    `takes messages of at most ${budget + BATCH_OVERHEAD} bytes; the whole record is at ` +
    `${describePosition(letter.position)}]`;
  const headers: Record<string, string> = { ...m.headers, [HEADERS.truncated]: String(total) };
  // The note's digits can only shrink with the kept size: size it with the longest, then cut.
  const rest = messageBytes({ ...m, value: m.value.subarray(0, 0), headers }) -
    byteLength(m.headers[HEADERS.reason]) + byteLength(note(total));
  const kept = Math.max(0, Math.min(total, budget - rest));
  headers[HEADERS.reason] = note(kept);
  return { ...m, value: m.value.subarray(0, kept), headers };
}

const byteLength = (s: string) => Buffer.byteLength(s, "utf8");
