/**
 * Retry with capped exponential backoff and full jitter. Only {@link RetriableError}s are retried
 * (transient errors never drop data); anything else is thrown to the caller at once. There is no
 * attempt limit: a service that is down pauses the pipeline until it is back, or until the signal
 * aborts (a stop request), which ends the wait at once and throws the last error.
 * @module
 */
import { RetriableError } from "../core/errors.ts";

export interface RetryOptions {
  signal?: AbortSignal;
  /** Ceiling of the first wait; it doubles per attempt (default 100 ms). */
  baseMs?: number;
  /** Cap of the ceiling (default 10 s). */
  maxMs?: number;
  /** Called after each failed attempt that will be retried. */
  onRetry?: (attempt: number, error: Error) => void;
  /** Random number in [0, 1) (tests pin it). */
  random?: () => number;
}

/** The wait before retry `attempt` (1-based): random below min(max, base × 2^attempt). */
export function backoff(attempt: number, baseMs: number, maxMs: number, random = Math.random) {
  return random() * Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
}

export async function withRetry<T>(fn: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { baseMs = 100, maxMs = 10_000, signal } = options;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!(error instanceof RetriableError) || signal?.aborted) throw error;
      options.onRetry?.(attempt, error);
      await sleep(backoff(attempt, baseMs, maxMs, options.random), signal);
      if (signal?.aborted) throw error;
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
