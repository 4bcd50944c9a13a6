/**
 * A bounded queue between two stages. `put()` waits while the queue is full, which is what
 * pauses the source when a sink is slow (backpressure) instead of buffering without bound.
 * @module
 */
export interface Queue<T> extends AsyncIterable<T> {
  put(item: T): Promise<void>;
  /** No more items: iteration ends once the queue is drained. */
  end(): void;
}

export function boundedQueue<T>(capacity: number): Queue<T> {
  const items: T[] = [];
  let ended = false;
  let wakeReader: (() => void) | undefined;
  const writers: (() => void)[] = [];
  return {
    async put(item) {
      while (items.length >= capacity) await new Promise<void>((r) => writers.push(r));
      items.push(item);
      wakeReader?.();
    },
    end() {
      ended = true;
      wakeReader?.();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        if (items.length) {
          const item = items.shift()!;
          writers.shift()?.();
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
