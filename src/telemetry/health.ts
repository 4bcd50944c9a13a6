/**
 * What the runtime knows about each component's health, for `/healthz`, `/readyz`, the logs and
 * the `ics_component_up{component}` gauge. The runtime reports transitions: a call that failed and
 * is being retried (`retrying`, the pipeline waits for it), a component the pipeline works around
 * (`degraded`: dedup under `on_unavailable: sink_idempotency`), and `ok` again once a call
 * succeeds. While the runner starts, a component not open yet is `starting` (its detail says what
 * it waits for); once open it is `ok`, so `ics_component_up` has a series for every component from
 * then on. A component never reported is `ok`.
 * @module
 */
import type client from "prom-client";

export type HealthStatus = "ok" | "starting" | "retrying" | "degraded";

export interface ComponentHealth {
  status: HealthStatus;
  /** Why, for people: "connection refused (attempt 5)". */
  detail?: string;
  /** Epoch ms of the last transition. */
  since: number;
}

export interface Health {
  set(component: string, status: HealthStatus, detail?: string): void;
  get(component: string): ComponentHealth;
  /** Every component reported so far. */
  all(): Record<string, ComponentHealth>;
}

/** `gauge` is `ics_component_up{component}`. */
export function createHealth(gauge: client.Gauge): Health {
  const states = new Map<string, ComponentHealth>();
  const ok = (): ComponentHealth => ({ status: "ok", since: Date.now() });
  return {
    set(component, status, detail) {
      const was = states.get(component);
      const since = was?.status === status ? was.since : Date.now();
      states.set(component, { status, ...(detail ? { detail } : {}), since });
      gauge.set({ component }, status === "ok" ? 1 : 0);
    },
    get: (component) => states.get(component) ?? ok(),
    all: () => Object.fromEntries(states),
  };
}
