import assert from "node:assert/strict";
import { writesState } from "./_state.ts";

const services = {
  source: { type: "kafka" },
  dedup: { type: "redis" },
  graph: { type: "neo4j" },
  metrics: { type: "postgres" },
  dlq: { type: "kafka" },
};

Deno.test("writesState(): a target with anything embedded takes the state folder's lock, Kafka-sourced or not", () => {
  assert.equal(
    writesState({
      source: { type: "file" },
      dedup: { type: "memory" },
      graph: { type: "sqlite" },
      metrics: { type: "sqlite" },
      dlq: { type: "file" },
    }),
    true,
  );
  // Kafka-source instances sharing one embedded store: one at a time.
  assert.equal(writesState({ ...services, graph: { type: "sqlite" } }), true);
  assert.equal(writesState({ ...services, metrics: { type: "sqlite" } }), true);
  assert.equal(writesState({ ...services, dlq: { type: "file" } }), true); // ics replay's letters
  assert.equal(
    writesState({ ...services, source: { type: "dlq", queue: { type: "file" } } }),
    true,
  ); // redrive cursors next to the dead-letter file
  // Services only: nothing in the folder, instances scale out through their consumer group.
  assert.equal(writesState(services), false);
  assert.equal(writesState({ ...services, dedup: { type: "memory" } }), false);
  assert.equal(
    writesState({ ...services, source: { type: "dlq", queue: { type: "kafka" } } }),
    false,
  );
});
