/**
 * A rendezvous between a push producer (kafkajs's `eachBatch`) and a pull consumer (an async
 * iterator): `put()` resolves only when a taker took the item, so the producer never runs ahead of
 * the consumer by more than the item in hand. That is the source's backpressure.
 * @module
 */

export interface Handoff<T> {
  /** Resolves true once the item was taken, false when the hand-off closed first. */
  put(item: T): Promise<boolean>;
  /** The next item; undefined once closed. Rejects after {@link Handoff.fail}. */
  take(): Promise<T | undefined>;
  /** Take back an item not taken yet (its put resolves false). */
  withdraw(item: T): void;
  /** No more items: waiting putters get false, waiting takers undefined. */
  close(): void;
  /** Takers reject with this error (the producer crashed). */
  fail(error: Error): void;
  readonly closed: boolean;
}

export function handoff<T>(): Handoff<T> {
  const putters: { item: T; taken: (ok: boolean) => void }[] = [];
  const takers: { resolve: (item: T | undefined) => void; reject: (e: Error) => void }[] = [];
  let closed = false;
  let failure: Error | undefined;
  return {
    get closed() {
      return closed;
    },
    put(item) {
      if (closed) return Promise.resolve(false);
      const taker = takers.shift();
      if (taker) {
        taker.resolve(item);
        return Promise.resolve(true);
      }
      return new Promise((taken) => putters.push({ item, taken }));
    },
    take() {
      if (failure) return Promise.reject(failure);
      const putter = putters.shift();
      if (putter) {
        putter.taken(true);
        return Promise.resolve(putter.item);
      }
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve, reject) => takers.push({ resolve, reject }));
    },
    withdraw(item) {
      const i = putters.findIndex((p) => p.item === item);
      if (i >= 0) putters.splice(i, 1)[0].taken(false);
    },
    close() {
      closed = true;
      for (const p of putters.splice(0)) p.taken(false);
      for (const t of takers.splice(0)) t.resolve(undefined);
    },
    fail(error) {
      failure = error;
      for (const t of takers.splice(0)) t.reject(error);
      this.close();
    },
  };
}

/**
 * Wait for `promise`, calling `beat()` every `everyMs` meanwhile (kafkajs has no background
 * heartbeat: a consumer that waits without beating is evicted from its group).
 */
export async function whileBeating<T>(
  promise: Promise<T>,
  beat: () => Promise<void>,
  everyMs: number,
): Promise<T> {
  let result: { value: T } | undefined;
  let error: { error: unknown } | undefined;
  const settled = promise.then(
    (value) => void (result = { value }),
    (e) => void (error = { error: e }),
  );
  while (!result && !error) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((r) => timer = setTimeout(r, everyMs))]);
    clearTimeout(timer);
    if (!result && !error) await beat();
  }
  if (error) throw error.error;
  return result!.value;
}
