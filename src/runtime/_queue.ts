/**
 * A bounded queue between two stages. `put()` waits while the queue is full, which is what
 * pauses the source when a sink is slow (backpressure) instead of buffering without bound.
 * @module
 */
export interface Queue<T> extends AsyncIterable<T> {
  put(item: T): Promise<void>;
  /** No more items: iteration ends once the queue is drained. */
  end(): void;
  /** The consumer died: waiting and future `put()`s reject with this error. */
  fail(error: unknown): void;
}

export function boundedQueue<T>(capacity: number): Queue<T> {
  const items: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wakeReader: (() => void) | undefined;
  const writers: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  return {
    async put(item) {
      while (items.length >= capacity || failure) {
        if (failure) throw failure.error;
        await new Promise<void>((resolve, reject) => writers.push({ resolve, reject }));
      }
      items.push(item);
      wakeReader?.();
    },
    end() {
      ended = true;
      wakeReader?.();
    },
    fail(error) {
      failure = { error };
      for (const w of writers.splice(0)) w.reject(error);
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (items.length) {
          const item = items.shift()!;
          writers.shift()?.resolve();
          yield item;
        } else if (ended) {
          return;
        } else {
          await new Promise<void>((r) => wakeReader = r);
          wakeReader = undefined;
        }
      }
    },
  };
}
