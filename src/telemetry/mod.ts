/**
 * Telemetry: counters with fixed names and labels (DESIGN.md §7). The runtime counts; the CLI
 * prints a summary from them; exporters (Prometheus, OpenTelemetry) read the same registry.
 * @module
 */

export const COUNTERS = {
  events_received_total: "Records read from the source, by stream (unknown before decoding).",
  events_processed_total: "Events that passed decode, validation and dedup, by stream.",
  bytes_received_total: "Payload bytes read from the source.",
  dedup_dropped_total: "Duplicate events dropped.",
  entity_versions_total: "Node versions opened.",
  relationship_versions_total: "Relationship versions opened.",
  link_versions_total: "Link versions opened (new links and rescored ones).",
  versions_closed_total: "Versions closed (superseded), by kind.",
  correlation_links_total: "Link versions opened, by contributing rule.",
  correlation_links_retracted_total: "Links closed because their evidence fell away.",
  dlq_events_total: "Dead letters, by category.",
  batches_total: "Batches committed.",
  retries_total: "Retried sink or store calls, by component.",
} as const;

export type CounterName = keyof typeof COUNTERS;
export type Labels = Record<string, string>;

export interface Telemetry {
  add(name: CounterName, value?: number, labels?: Labels): void;
  /** Total of a counter, optionally for one label value. */
  get(name: CounterName, labels?: Labels): number;
  /** Every series of a counter: label values → total. */
  series(name: CounterName): { labels: Labels; value: number }[];
}

export function createTelemetry(): Telemetry {
  const values = new Map<string, { name: CounterName; labels: Labels; value: number }>();
  // Hot path: called per event. Each call site passes its labels in one fixed order.
  const id = (name: string, labels: Labels) => {
    let k = name;
    for (const l in labels) k += "\u0000" + l + "=" + labels[l];
    return k;
  };
  return {
    add(name, value = 1, labels = {}) {
      const k = id(name, labels);
      const s = values.get(k);
      if (s) s.value += value;
      else values.set(k, { name, labels, value });
    },
    get(name, labels) {
      let total = 0;
      for (const s of values.values()) {
        if (s.name !== name) continue;
        if (labels && !Object.entries(labels).every(([k, v]) => s.labels[k] === v)) continue;
        total += s.value;
      }
      return total;
    },
    series(name) {
      return [...values.values()].filter((s) => s.name === name).map(({ labels, value }) => ({
        labels,
        value,
      }));
    },
  };
}
