/**
 * Retry with capped exponential backoff and full jitter. Only {@link RetriableError}s are retried
 * (transient errors never drop data); anything else is thrown to the caller at once.
 * @module
 */
import { RetriableError } from "../core/errors.ts";

export interface RetryOptions {
  signal?: AbortSignal;
  baseMs?: number;
  maxMs?: number;
  onRetry?: (attempt: number, error: Error) => void;
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { baseMs = 100, maxMs = 30_000 } = options;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof RetriableError) || options.signal?.aborted) throw error;
      options.onRetry?.(attempt, error);
      const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 20));
      await new Promise((r) => setTimeout(r, Math.random() * ceiling));
    }
  }
}
