/**
 * Finding the events a sink refuses. When a batch write fails with a {@link PermanentError} (a
 * value the database rejects), the batch is written again in halves, and each half that fails
 * again in halves, until every refused event stands alone: those are dead-lettered, the rest is
 * written. A batch with one bad event costs about 2·log2(n) extra writes.
 * @module
 */
import { PermanentError } from "../core/errors.ts";

export interface Refused<T> {
  item: T;
  error: PermanentError;
  /** Writes tried that held this item (the whole batch, then each smaller group). */
  attempts: number;
}

/**
 * Write `items`, a batch whose whole write failed with `error`, in ever smaller groups, in input
 * order (a group is settled before the next one is written). `write` throws a PermanentError when
 * the sink refuses a group; any other error stops the isolation and is thrown. Returns the items
 * refused on their own.
 */
export async function isolate<T>(
  items: T[],
  error: PermanentError,
  write: (group: T[]) => Promise<void>,
): Promise<Refused<T>[]> {
  const refused: Refused<T>[] = [];
  const split = async (group: T[], attempts: number, error: PermanentError) => {
    if (group.length === 1) return void refused.push({ item: group[0], error, attempts });
    const mid = Math.ceil(group.length / 2);
    for (const half of [group.slice(0, mid), group.slice(mid)]) {
      try {
        await write(half);
      } catch (e) {
        if (!(e instanceof PermanentError)) throw e;
        await split(half, attempts + 1, e);
      }
    }
  };
  await split(items, 1, error);
  return refused;
}
