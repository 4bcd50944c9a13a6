/**
 * Calling a store or sink: retried while it fails transiently (capped exponential backoff, full
 * jitter, no limit, until the run stops), its health following: `retrying` with the error and
 * attempt from the first failure, `ok` again (and a log line) once a call succeeds. A
 * PermanentError (the service refuses the values) is not retried; it names the component.
 * @module
 */
import type { Context } from "../core/component.ts";
import { PermanentError } from "../core/errors.ts";
import { redactError } from "../core/secrets.ts";
import type { Telemetry } from "../telemetry/mod.ts";
import { withRetry } from "./_retry.ts";

export type Call = <T>(component: string, fn: () => Promise<T>) => Promise<T>;

export function createCall(
  telemetry: Telemetry,
  log: Context["log"],
  retry: { initial_ms: number; max_ms: number },
  signal: AbortSignal,
): Call {
  const t = telemetry;
  return <T>(component: string, fn: () => Promise<T>): Promise<T> => {
    let failures = 0;
    return withRetry(() =>
      fn().catch((error) => {
        t.add("sink_errors_total", 1, { component });
        throw error;
      }), {
      signal,
      baseMs: retry.initial_ms,
      maxMs: retry.max_ms,
      onRetry: (attempt, error) => {
        failures = attempt;
        t.add("retries_total", 1, { component });
        t.health.set(component, "retrying", `${redactError(error)} (attempt ${attempt})`);
        log("warn", `${component} failed (attempt ${attempt}), retrying: ${redactError(error)}`, {
          component,
        });
      },
    }).then((value) => {
      if (failures > 0) {
        t.health.set(component, "ok");
        log("info", `${component} is available again (after ${failures} failed attempts)`, {
          component,
        });
      }
      return value;
    }, (error: unknown): never => {
      throw error instanceof PermanentError
        ? new PermanentError(`${component} refused the write: ${error.message}`, { cause: error })
        : error;
    });
  };
}
