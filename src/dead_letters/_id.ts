/**
 * What makes two letters the same: the same place in the input, the same bytes, the same redrive
 * round (a letter that fails again in `ics dlq redrive` is a new letter, counting its redrives).
 * The dead-letter time does not count: a batch replayed after a crash dead-letters its records
 * again, later.
 * @module
 */
import type { DeadLetter } from "../core/types.ts";
import { factId } from "../core/hash.ts";

export function letterId(l: Pick<DeadLetter, "position" | "payload" | "redriven">): string {
  const p = l.position;
  const where = p.kind === "file"
    ? [p.kind, p.path, String(p.line)]
    : [p.kind, p.topic, String(p.partition), p.offset];
  return factId(...where, String(l.redriven ?? 0), l.payload);
}
