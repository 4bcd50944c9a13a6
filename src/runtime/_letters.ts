/**
 * A batch's dead letters, collected by whichever stage rejects a record and handed to the
 * dead-letter queue in source order (the order of the records in the batch).
 * @module
 */
import type { DeadLetter, DlqCategory, RawRecord } from "../core/types.ts";
import { deadLetter } from "../dead_letters/mod.ts";

export interface Letters {
  add(record: RawRecord, category: DlqCategory, reason: string, stream?: string): void;
  /** Add a letter made elsewhere (`sink_error`, with its attempts). */
  push(record: RawRecord, letter: DeadLetter): void;
  /** The letters in source order. */
  list(): DeadLetter[];
}

export function letters(records: RawRecord[], policy: () => string): Letters {
  const order = new Map(records.map((r, i) => [r, i]));
  const dead: { at: number; letter: DeadLetter }[] = [];
  const push = (record: RawRecord, letter: DeadLetter) =>
    void dead.push({ at: order.get(record)!, letter });
  return {
    add: (record, category, reason, stream) =>
      push(record, deadLetter(record, category, reason, { stream, policy: policy() })),
    push,
    list: () => dead.sort((a, b) => a.at - b.at).map((d) => d.letter),
  };
}
