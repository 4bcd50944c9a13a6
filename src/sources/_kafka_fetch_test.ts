import { deepEqual } from "node:assert/strict";
import { FETCH_MAX_BYTES, fetchParams } from "./_kafka_fetch.ts";

Deno.test("kafka fetch: the broker waits for about a batch, at most max_wait_ms", () => {
  deepEqual(fetchParams(5000, 100, 200), {
    minBytes: 1_000_000,
    maxWaitTimeInMs: 100,
    maxBytes: FETCH_MAX_BYTES,
  });
  // Never more than a whole fetch response may hold.
  deepEqual(fetchParams(100_000, 250, 1000).minBytes, FETCH_MAX_BYTES);
  deepEqual(fetchParams(1, 100, 200).minBytes, 200);
});

Deno.test("kafka fetch: max_wait_ms 0 answers as soon as anything is there", () => {
  deepEqual(fetchParams(5000, 0), { minBytes: 1, maxWaitTimeInMs: 500, maxBytes: FETCH_MAX_BYTES });
});
