/**
 * The few errors that drive the runtime. Anything else thrown is a bug.
 * @module
 */

/** A user-facing problem (bad flag, missing file): printed as one line, never with a stack. */
export class UserError extends Error {
  override name = "UserError";
}

/** A service call that may succeed if retried (connection refused, timeout, leader change). */
export class RetriableError extends Error {
  override name = "RetriableError";
}

/** A failure that cannot succeed by retrying; the records involved go to the dead-letter queue. */
export class PermanentError extends Error {
  override name = "PermanentError";
}

/**
 * A write refused because the writer no longer owns the input it came from: another runner has
 * claimed it since (see `Fence`). The batch is not committed; its next owner reads it again.
 */
export class FencedError extends Error {
  override name = "FencedError";
}
