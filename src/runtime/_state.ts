/**
 * Which targets write the state folder, and its lock. Components that keep data in the state
 * folder (a file source's checkpoint, SQLite stores, a dead-letter file, a redrive's cursors)
 * take one runner at a time: a second is refused (`src/core/state_lock.ts`). A target of services
 * only (Kafka, Redis, Neo4j, Postgres, a Kafka dead-letter topic) keeps nothing there, so any
 * number of instances may share one folder: they scale out through their consumer group.
 * @module
 */
import { lockState, type StateLock } from "../core/state_lock.ts";

interface Config {
  type: string;
  queue?: { type: string };
}

/** Types that keep their data in the state folder, by role. */
const EMBEDDED: Record<string, (c: Config) => boolean> = {
  source: (c) => c.type === "file" || (c.type === "dlq" && c.queue?.type === "file"),
  graph: (c) => c.type === "sqlite",
  metrics: (c) => c.type === "sqlite",
  dlq: (c) => c.type === "file",
};

/** Whether a target (its components by role) writes the state folder. */
export function writesState(components: Readonly<Record<string, unknown>>): boolean {
  return Object.entries(EMBEDDED).some(([role, embedded]) =>
    components[role] !== undefined && embedded(components[role] as Config)
  );
}

/** The state folder's lock when the target writes it; undefined otherwise. */
export async function lockIfWritten(
  dir: string,
  components: Readonly<Record<string, unknown>>,
): Promise<StateLock | undefined> {
  return writesState(components) ? await lockState(dir) : undefined;
}
