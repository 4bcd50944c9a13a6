import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { Event } from "../core/types.ts";
import { createMemoryStore, memory } from "./memory.ts";
import { contentDigest, idempotencyKey } from "./mod.ts";
import type { DedupEntry } from "../core/component.ts";

const DAY = 86_400;

function clock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** An entry for key `k` whose event says `content`. */
const entry = (k: string, content = "same"): DedupEntry => ({
  key: sha256(k),
  digest: sha256(content).slice(0, 32),
});
const keys = (...ks: string[]) => ks.map((k) => entry(k));

Deno.test("memory dedup store sees a key only after it is committed", async () => {
  const store = createMemoryStore(10, DAY);
  assert.deepEqual(await store.seen(keys("a", "b")), ["new", "new"]);
  // Checking does not mark: the batch may still fail before its sinks acknowledge it.
  assert.deepEqual(await store.seen(keys("a")), ["new"]);
  await store.commit(keys("a"));
  assert.deepEqual(await store.seen(keys("a", "b", "a")), ["seen", "new", "seen"]);
});

Deno.test("memory dedup store verifies a key hit: another digest under the key is a collision", async () => {
  const store = createMemoryStore(10, DAY);
  await store.commit([entry("a", "first")]);
  assert.deepEqual(await store.seen([entry("a", "first"), entry("a", "second")]), [
    "seen",
    "collision",
  ]);
  // The colliding event, once processed, is remembered beside the first: its re-send is seen.
  await store.commit([{ ...entry("a", "second"), collision: true }]);
  assert.deepEqual(
    await store.seen([entry("a", "first"), entry("a", "second"), entry("a", "third")]),
    ["seen", "seen", "collision"],
  );
});

Deno.test("memory dedup store forgets a key once its TTL has passed", async () => {
  const c = clock();
  const store = createMemoryStore(10, 60, c.now);
  await store.commit(keys("a"));
  c.advance(59_999);
  assert.deepEqual(await store.seen(keys("a")), ["seen"]);
  c.advance(1);
  assert.deepEqual(await store.seen(keys("a")), ["new"]);
  // Once expired it stays forgotten, even if the clock were to go back.
  c.advance(-10_000);
  assert.deepEqual(await store.seen(keys("a")), ["new"]);
});

Deno.test("memory dedup store restarts a key's TTL when it is committed again", async () => {
  const c = clock();
  const store = createMemoryStore(10, 60, c.now);
  await store.commit(keys("a"));
  c.advance(50_000);
  await store.commit(keys("a"));
  c.advance(50_000);
  assert.deepEqual(await store.seen(keys("a")), ["seen"]);
});

Deno.test("memory dedup store evicts the oldest keys beyond max_entries", async () => {
  const store = createMemoryStore(3, DAY);
  await store.commit(keys("a", "b"));
  await store.commit(keys("c", "d"));
  assert.deepEqual(await store.seen(keys("a", "b", "c", "d")), ["new", "seen", "seen", "seen"]);
  await store.commit(keys("e"));
  assert.deepEqual(await store.seen(keys("b", "c", "d", "e")), ["new", "seen", "seen", "seen"]);
});

Deno.test("memory dedup store counts a re-committed key as the newest", async () => {
  const store = createMemoryStore(2, DAY);
  await store.commit(keys("a", "b"));
  await store.commit(keys("a")); // a is now newer than b
  await store.commit(keys("c"));
  assert.deepEqual(await store.seen(keys("a", "b", "c")), ["seen", "new", "seen"]);
});

Deno.test("memory dedup component takes max_entries from its config and the TTL from the context", async () => {
  const config = memory.schema.parse({ type: "memory" });
  assert.equal(config.max_entries, 1_000_000);
  assert.throws(() => memory.schema.parse({ type: "memory", max_entries: 0 }));
  const ctx = { stateDir: ".", specDir: ".", log: () => {}, ttl_seconds: 60 };
  const store = await memory.create({ type: "memory", max_entries: 1 }, ctx);
  await store.check();
  await store.commit(keys("a", "b"));
  assert.deepEqual(await store.seen(keys("a", "b")), ["new", "seen"]);
  await store.close();
});

const DDE_KEY = ["iteration_id", "event_type", "node_id", "timestamp"];

function event(extra: Record<string, unknown>): Event {
  return {
    event_id: "e-1",
    event_type: "TASK_STARTED",
    iteration_id: "it-1",
    timestamp: 1_700_000_000_123,
    producer: "dag_executor",
    ...extra,
  };
}

Deno.test("idempotencyKey() is sha256 of the key fields joined by colons", () => {
  assert.equal(
    idempotencyKey(event({ node_id: "build" }), DDE_KEY),
    sha256("it-1:TASK_STARTED:build:1700000000123"),
  );
});

Deno.test("idempotencyKey() reads a null or absent field as the empty string", () => {
  const expected = sha256("it-1:TASK_STARTED::1700000000123");
  assert.equal(idempotencyKey(event({ node_id: null }), DDE_KEY), expected);
  assert.equal(idempotencyKey(event({}), DDE_KEY), expected);
});

Deno.test("idempotencyKey() ignores fields outside the key, such as event_id", () => {
  const a = idempotencyKey(event({ node_id: "build", event_id: "e-1" }), DDE_KEY);
  const b = idempotencyKey(event({ node_id: "build", event_id: "e-2", attempt: 3 }), DDE_KEY);
  assert.equal(a, b);
  assert.notEqual(a, idempotencyKey(event({ node_id: "test" }), DDE_KEY));
});

Deno.test("idempotencyKey() reaches into maps with dotted field names", () => {
  const e = event({ metadata: { run: "r-7" } });
  assert.equal(idempotencyKey(e, ["iteration_id", "metadata.run"]), sha256("it-1:r-7"));
  assert.equal(idempotencyKey(e, ["iteration_id", "metadata.none"]), sha256("it-1:"));
});

const TASK_FIELDS = ["event_type", "iteration_id", "timestamp", "producer", "node_id", "metadata"];

Deno.test("contentDigest() is the same for a re-send and differs when any field but event_id does", () => {
  const a = event({ node_id: "build", metadata: { x: "1", y: "2" } });
  const resent = { ...a, event_id: "e-2", metadata: { y: "2", x: "1" } };
  assert.equal(contentDigest(a, TASK_FIELDS), contentDigest(resent, TASK_FIELDS));
  assert.equal(contentDigest(a, TASK_FIELDS).length, 32);
  assert.notEqual(
    contentDigest(a, TASK_FIELDS),
    contentDigest({ ...a, node_id: "test" }, TASK_FIELDS),
  );
  assert.notEqual(
    contentDigest(a, TASK_FIELDS),
    contentDigest({ ...a, metadata: { x: "1" } }, TASK_FIELDS),
  );
});

Deno.test("contentDigest() takes an absent optional field for null (either may be sent)", () => {
  const a = event({ node_id: null });
  assert.equal(contentDigest(a, TASK_FIELDS), contentDigest(event({}), TASK_FIELDS));
});
