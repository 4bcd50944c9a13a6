/**
 * Giving the event loop a turn during long synchronous work. A batch of thousands of records is
 * decoded, hashed, mapped and correlated on the main thread; done in one go it would hold the
 * loop for hundreds of milliseconds, and every reply waiting meanwhile (Redis, Neo4j, Kafka
 * heartbeats) would wait with it. `breather()` returns a function to call between units of work:
 * it yields to the loop once `budgetMs` of work has passed since the last turn.
 * @module
 */

/** A macrotask turn: I/O callbacks and timers due run before the work goes on. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export function breather(budgetMs = 10): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    const now = performance.now();
    if (now - since < budgetMs) return undefined;
    return yieldToLoop().then(() => void (since = performance.now()));
  };
}
