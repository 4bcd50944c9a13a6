/**
 * Dedup through the whole embedded pipeline: a re-sent event is dropped, a distinct event whose
 * idempotency key collides with another's is processed (counted, logged once per key), and a
 * re-send of the colliding event is dropped in turn. Keys are forced to collide by a `dedup.key`
 * that names too few fields, as a mis-configured spec would.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { copy } from "./_copy.ts";
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;

const T = Date.UTC(2025, 0, 6, 9, 0, 0);
const feature = (id: string, file: string, at = T) => ({
  event_id: id,
  event_type: "FEATURE_STARTED",
  iteration_id: "it-dedup",
  timestamp: at,
  producer: "bdv_runner",
  test_run_id: "tr-1",
  feature_file: file,
});

async function runOn(events: object[], keyOverride?: string) {
  const dir = await Deno.makeTempDir({ prefix: "ics-dedup-" });
  await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
  if (keyOverride) {
    const file = join(dir, "pipeline.yaml");
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(
      file,
      text.replace("  ttl_seconds: 604800", `  key: ${keyOverride}\n  ttl_seconds: 604800`),
    );
  }
  const input = join(dir, "events.jsonl");
  await Deno.writeTextFile(input, events.map((e) => JSON.stringify(e)).join("\n") + "\n");
  const { spec, errors } = await loadSpec(join(dir, "pipeline.yaml"), () => undefined);
  assert.deepEqual(errors, []);
  const logs: string[] = [];
  const p = await compile(spec!, {
    input,
    stateDir: join(dir, "state"),
    log: (level, message) => logs.push(`${level}: ${message}`),
  });
  try {
    const { telemetry } = await run(p);
    const db = new DatabaseSync(join(dir, "state", "metrics.db"));
    const rows = db.prepare("SELECT count(*) AS n FROM event_metrics").get()!.n as number;
    db.close();
    const features = (await p.graph.query({ kind: "node" }))
      .filter((v) => v.label === "Feature").map((v) => v.key[0]).sort();
    return { telemetry, logs, rows, features };
  } finally {
    await p.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("two features started in one millisecond are two events; their re-sends are dropped", async () => {
  const a = feature("e-1", "features/a.feature"), b = feature("e-2", "features/b.feature");
  const { telemetry: t, rows, features } = await runOn([a, b, a, b]);
  assert.equal(t.get("events_processed_total"), 2);
  assert.equal(t.get("dedup_dropped_total"), 2);
  assert.equal(t.get("dedup_collisions_total"), 0);
  assert.equal(rows, 2);
  assert.deepEqual(features, ["features/a.feature", "features/b.feature"]);
});

Deno.test("a key collision is processed as a distinct event, counted and logged once per key", async () => {
  // A key without feature_file: the two features of one millisecond share it.
  const tooFew = "{ bdv: [iteration_id, event_type, timestamp] }";
  const a = feature("e-1", "features/a.feature"), b = feature("e-2", "features/b.feature");
  const c = feature("e-3", "features/c.feature");
  // In one batch, then again in a later batch (the file source reads 5,000 per batch: same one),
  // and re-sent: each distinct event once, each re-send dropped.
  const { telemetry: t, logs, rows, features } = await runOn([a, b, c, b, a, c], tooFew);
  assert.equal(t.get("events_processed_total"), 3);
  assert.equal(t.get("dedup_dropped_total"), 3);
  assert.equal(t.get("dedup_collisions_total"), 2);
  assert.deepEqual(t.series("dedup_collisions_total").map((s) => s.labels), [{ stream: "bdv" }]);
  assert.equal(rows, 3, "one metric row per distinct event, though they share a key");
  assert.deepEqual(features, ["features/a.feature", "features/b.feature", "features/c.feature"]);
  const warned = logs.filter((l) => l.includes("dedup key collision"));
  assert.equal(warned.length, 1, logs.join("\n"));
  assert.match(warned[0], /^warn: dedup key collision: bdv FEATURE_STARTED event "e-2"/);
});

Deno.test("an event that only differs by event_id is a re-send, whatever the key", async () => {
  const a = feature("e-1", "features/a.feature");
  const { telemetry: t, rows } = await runOn([a, { ...a, event_id: "e-9" }]);
  assert.equal(t.get("events_processed_total"), 1);
  assert.equal(t.get("dedup_dropped_total"), 1);
  assert.equal(rows, 1);
});
