import assert from "node:assert/strict";
import { backoff, withRetry } from "./_retry.ts";
import { PermanentError, RetriableError } from "../core/errors.ts";

Deno.test("backoff() is random below a ceiling that doubles per attempt up to the cap", () => {
  const top = () => 0.999_999;
  const ceilings = [1, 2, 3, 4, 5, 6, 7].map((a) => Math.round(backoff(a, 100, 2000, top)));
  assert.deepEqual(ceilings, [200, 400, 800, 1600, 2000, 2000, 2000]);
  assert.equal(backoff(40, 100, 2000, top) <= 2000, true); // no overflow for long outages
  assert.equal(backoff(3, 100, 2000, () => 0), 0); // full jitter: anywhere from zero
  assert.equal(backoff(3, 100, 2000, () => 0.5), 400);
});

Deno.test("withRetry() retries RetriableErrors until the call succeeds", async () => {
  let calls = 0;
  const attempts: number[] = [];
  const value = await withRetry(() => {
    if (++calls < 4) return Promise.reject(new RetriableError(`down ${calls}`));
    return Promise.resolve("ok");
  }, { baseMs: 1, maxMs: 2, onRetry: (attempt) => attempts.push(attempt) });
  assert.equal(value, "ok");
  assert.deepEqual(attempts, [1, 2, 3]);
});

Deno.test("withRetry() gives up at once on a permanent error", async () => {
  let calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(new PermanentError("value out of range"));
    }, { baseMs: 1 }),
    PermanentError,
  );
  assert.equal(calls, 1);
});

Deno.test("withRetry() stops waiting when the signal aborts and throws the last error", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  let calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      return Promise.reject(new RetriableError("still down"));
    }, { baseMs: 60_000, maxMs: 60_000, random: () => 1, signal: controller.signal }),
    (e: Error) => e instanceof RetriableError && e.message === "still down",
  );
  assert.equal(calls, 1); // the minute-long wait was cut short, not slept through
});
