/**
 * The consumer's fetch parameters, so that the waiting for a batch happens at the broker: it
 * answers a fetch once about a batch's worth of bytes is there (`minBytes`) or `max_wait_ms`
 * passed (`maxWaitTimeInMs`), whichever first (Kafka's `fetch.min.bytes` / `fetch.max.wait.ms`).
 * At live rates a fetch then brings what every partition received in `max_wait_ms`, gathered into
 * one batch (`_gather.ts`); in a backlog it answers at once with up to `maxBytes`.
 *
 * The bytes of a batch are estimated from a per-record size fixed at start (kafkajs takes its
 * fetch parameters once, at `consumer()`). Too high an estimate only makes live batches wait for
 * `max_wait_ms`, which they would at rates below `max_batch_records / max_wait_ms` anyway; too
 * low makes the broker answer early with smaller batches. So it errs high: the sample events
 * (samples/events.jsonl) take 81–377 bytes, 223 on average, as Confluent-framed Avro with their
 * key, plus about 15 bytes of record overhead in a record batch. Compressed topics take fewer
 * bytes per record: their fetches wait longer, up to `max_wait_ms`.
 * @module
 */

/** Bytes one record takes in a fetch response (value, key, headers, record overhead). */
export const BYTES_PER_RECORD = 256;
/** kafkajs's default `maxBytes` of a whole fetch response. */
export const FETCH_MAX_BYTES = 10 * 1024 * 1024;

export interface FetchParams {
  minBytes: number;
  maxWaitTimeInMs: number;
  maxBytes: number;
}

export function fetchParams(
  maxRecords: number,
  maxWaitMs: number,
  bytesPerRecord = BYTES_PER_RECORD,
): FetchParams {
  // No gathering: answer as soon as anything is there, as before; 500 ms keeps close() short.
  if (maxWaitMs === 0) return { minBytes: 1, maxWaitTimeInMs: 500, maxBytes: FETCH_MAX_BYTES };
  const batch = Math.ceil(maxRecords * bytesPerRecord);
  return {
    minBytes: Math.max(1, Math.min(batch, FETCH_MAX_BYTES)),
    maxWaitTimeInMs: maxWaitMs,
    // A backlog fetch brings at least a few batches (never less than kafkajs's default).
    maxBytes: Math.max(FETCH_MAX_BYTES, Math.min(4 * batch, 64 * 1024 * 1024)),
  };
}
