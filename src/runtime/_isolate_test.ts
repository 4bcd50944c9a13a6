import assert from "node:assert/strict";
import { isolate } from "./_isolate.ts";
import { PermanentError, RetriableError } from "../core/errors.ts";

/** A sink that refuses every group holding one of `bad`, and records what it wrote. */
function sink(bad: Set<number>) {
  const written: number[] = [];
  const groups: number[][] = [];
  return {
    written,
    groups,
    write(group: number[]) {
      groups.push(group);
      const poison = group.find((n) => bad.has(n));
      if (poison !== undefined) return Promise.reject(new PermanentError(`refused ${poison}`));
      written.push(...group);
      return Promise.resolve();
    },
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("isolate() dead-letters exactly the refused items and writes the rest in order", async () => {
  const s = sink(new Set([3, 12]));
  const refused = await isolate(range(16), new PermanentError("batch"), s.write);
  assert.deepEqual(refused.map((r) => r.item), [3, 12]);
  assert.deepEqual(refused.map((r) => r.error.message), ["refused 3", "refused 12"]);
  // 16 → 8 → 4 → 2 → 1: the batch write and four smaller groups held each refused item.
  assert.deepEqual(refused.map((r) => r.attempts), [5, 5]);
  assert.deepEqual(s.written, range(16).filter((n) => n !== 3 && n !== 12));
  // log2(16) levels, two groups each per bad item, at most.
  assert.ok(s.groups.length <= 2 * 4 * 2, `${s.groups.length} writes`);
});

Deno.test("isolate() on a single item refuses it without writing again", async () => {
  const s = sink(new Set([0]));
  const refused = await isolate([0], new PermanentError("batch"), s.write);
  assert.deepEqual(refused, [{ item: 0, error: new PermanentError("batch"), attempts: 1 }]);
  assert.equal(s.groups.length, 0);
});

Deno.test("isolate() refuses every item when all are bad, and stops at a transient error", async () => {
  const all = await isolate(range(5), new PermanentError("batch"), sink(new Set(range(5))).write);
  assert.deepEqual(all.map((r) => r.item), range(5));
  await assert.rejects(
    isolate(
      range(4),
      new PermanentError("batch"),
      () => Promise.reject(new RetriableError("down")),
    ),
    RetriableError,
  );
});
