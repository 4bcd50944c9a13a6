/**
 * Start-up: open the components, waiting for the services they need. `docker compose up` starts
 * everything at once, so Redis, Neo4j, Postgres or Kafka may not answer yet when the runner
 * starts. A component whose opening fails transiently (a {@link RetriableError}: connection
 * refused, a timeout) is tried again with the runtime's capped exponential backoff; meanwhile it
 * is reported `starting` (`/readyz` 503 naming it and why, `ics_component_up` 0, a `warn` line per
 * attempt). After `runtime.startup_timeout_seconds` (0: no limit) the start fails with one line
 * naming the component and its last error; a stop request ends the wait at once. Once open, a
 * component is `ok` (`ics_component_up` 1).
 * @module
 */
import { RetriableError } from "../core/errors.ts";
import { redactError } from "../core/secrets.ts";
import type { Context } from "../core/component.ts";
import type { Health } from "../telemetry/mod.ts";
import { withRetry } from "./_retry.ts";

export interface StartupOptions {
  health: Health;
  log: Context["log"];
  retry: { initial_ms: number; max_ms: number };
  /** Seconds the whole start may take; 0 waits without limit. */
  timeoutSeconds: number;
  /** A stop request (SIGTERM) ends the wait. */
  signal?: AbortSignal;
}

/** The start gave up on a component: runtime failure (exit 3), one line. */
export class StartupTimeout extends Error {
  override name = "StartupTimeout";
}

export interface Startup {
  /**
   * Open a component: `create()`, then `check()` when asked, each retried while it fails
   * transiently. The component is `ok` once both succeeded; it is closed if the check fails.
   */
  open<T extends { check(): Promise<void>; close(): Promise<void> }>(
    role: string,
    create: () => Promise<T>,
    options?: { check?: boolean },
  ): Promise<T>;
}

/** Every role is `starting` until it is open. */
export function startup(roles: string[], options: StartupOptions): Startup {
  const { health, log, retry, timeoutSeconds, signal } = options;
  for (const role of roles) health.set(role, "starting", "not opened yet");
  const deadline = timeoutSeconds > 0 ? Date.now() + timeoutSeconds * 1000 : Infinity;

  async function wait<T>(role: string, fn: () => Promise<T>): Promise<T> {
    const stop = new AbortController();
    const abort = () => stop.abort();
    signal?.addEventListener("abort", abort, { once: true });
    const timer = Number.isFinite(deadline)
      ? setTimeout(abort, Math.max(0, deadline - Date.now()))
      : undefined;
    try {
      return await withRetry(fn, {
        signal: stop.signal,
        baseMs: retry.initial_ms,
        maxMs: retry.max_ms,
        onRetry: (attempt, error) => {
          const why = redactError(error);
          health.set(role, "starting", `${why} (attempt ${attempt})`);
          log(
            "warn",
            `${role} is not available yet (attempt ${attempt}), waiting${
              Number.isFinite(deadline)
                ? ` up to ${Math.ceil((deadline - Date.now()) / 1000)} s more`
                : ""
            }: ${why}`,
            { component: role },
          );
        },
      });
    } catch (error) {
      if (error instanceof RetriableError && !signal?.aborted && Date.now() >= deadline) {
        throw new StartupTimeout(
          `${role} did not become available within ${timeoutSeconds} s ` +
            `(runtime.startup_timeout_seconds; 0 waits without limit): ${redactError(error)}`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener("abort", abort);
    }
  }

  return {
    async open(role, create, opts = {}) {
      const component = await wait(role, create);
      if (opts.check) {
        try {
          await wait(role, () => component.check());
        } catch (error) {
          await component.close().catch(() => {});
          throw error;
        }
      }
      health.set(role, "ok");
      return component;
    },
  };
}
