import { deepEqual as assertEquals } from "node:assert/strict";
import { type Gathered, gatherer } from "./_gather.ts";
import { fakeClock } from "./_fake_clock.ts";

type R = { p: number; o: bigint };
const recs = (p: number, from: number, n: number): R[] =>
  Array.from({ length: n }, (_, i) => ({ p, o: BigInt(from + i) }));
const offsetOf = (r: R) => r.o;

function setup(maxRecords: number, maxWaitMs: number) {
  const clock = fakeClock();
  const closed: Gathered<R>[] = [];
  const g = gatherer<R>({ maxRecords, maxWaitMs, clock, onClose: (b) => closed.push(b) });
  return { clock, closed, g };
}
const ends = (b: Gathered<R>) =>
  Object.fromEntries([...b.ends].map(([k, v]) => [k, Number(v.end)]));

Deno.test("gather: a batch gathers several partitions and closes max_wait_ms after its first record", () => {
  const { clock, closed, g } = setup(100, 50);
  const a = g.enter(); // an adder that is still busy (e.g. fetching writer schemas)
  g.add("t", 0, recs(0, 10, 3), offsetOf, 13n);
  clock.advance(20);
  g.add("t", 1, recs(1, 0, 2), offsetOf, 5n); // 5: trailing transaction markers
  clock.advance(29);
  assertEquals(closed.length, 0);
  clock.advance(1);
  assertEquals(closed.length, 1);
  assertEquals(closed[0].closedBy, "time");
  assertEquals(closed[0].records.length, 5);
  assertEquals(ends(closed[0]), { "t/0": 13, "t/1": 5 });
  a();
});

Deno.test("gather: a batch closes when full; the rest of a part continues in the next", () => {
  const { closed, g } = setup(4, 1000);
  const leave = g.enter();
  const into = g.add("t", 0, recs(0, 0, 3), offsetOf, 3n);
  const into2 = g.add("u", 0, recs(0, 100, 7), offsetOf, 107n);
  assertEquals(into.length, 1);
  assertEquals(into2.length, 3);
  assertEquals(closed.length, 2);
  assertEquals(closed.map((b) => b.closedBy), ["full", "full"]);
  // The first batch holds u/0 up to offset 100: it commits 101, the part's end waits for later.
  assertEquals(ends(closed[0]), { "t/0": 3, "u/0": 101 });
  assertEquals(ends(closed[1]), { "u/0": 105 });
  assertEquals(g.openSize(), 2);
  leave();
});

Deno.test("gather: once every adder added, the batch closes on the next timer turn (quiet)", () => {
  const { clock, closed, g } = setup(100, 1000);
  const leaves = [g.enter(), g.enter(), g.enter()];
  g.add("t", 0, recs(0, 0, 2), offsetOf, 2n);
  leaves[0]();
  g.add("t", 1, recs(1, 0, 2), offsetOf, 2n);
  leaves[1]();
  clock.advance(0);
  assertEquals(closed.length, 0, "an adder is still busy");
  leaves[2](); // it had nothing to add
  clock.advance(0);
  assertEquals(closed.length, 1);
  assertEquals(closed[0].closedBy, "quiet");
  assertEquals(Object.keys(ends(closed[0])).sort(), ["t/0", "t/1"]);
});

Deno.test("gather: an adder entering before the quiet check keeps the batch open", () => {
  const { clock, closed, g } = setup(100, 1000);
  const a = g.enter();
  g.add("t", 0, recs(0, 0, 1), offsetOf, 1n);
  a();
  const b = g.enter();
  clock.advance(0);
  assertEquals(closed.length, 0);
  g.add("t", 1, recs(1, 0, 1), offsetOf, 1n);
  b();
  clock.advance(0);
  assertEquals(closed.length, 1);
  assertEquals(closed[0].records.length, 2);
});

Deno.test("gather: max_wait_ms 0 closes each part's batches on their own", () => {
  const { closed, g } = setup(3, 0);
  const leave = g.enter();
  g.add("t", 0, recs(0, 0, 4), offsetOf, 4n);
  g.add("t", 1, recs(1, 0, 1), offsetOf, 1n);
  leave();
  assertEquals(closed.map((b) => [b.closedBy, Object.keys(ends(b))]), [
    ["full", ["t/0"]],
    ["part", ["t/0"]],
    ["part", ["t/1"]],
  ]);
});

Deno.test("gather: a discarded batch settles false and never closes", async () => {
  const { clock, closed, g } = setup(100, 10);
  const [b] = g.add("t", 0, recs(0, 0, 1), offsetOf, 1n);
  assertEquals(g.discard(), b);
  assertEquals(await b.done, false);
  clock.advance(100);
  assertEquals(closed.length, 0);
  const [c] = g.add("t", 0, recs(0, 1, 1), offsetOf, 2n);
  assertEquals(c === b, false, "a new batch opens");
});

Deno.test("gather: partitions keep their order across batches", () => {
  const { closed, g } = setup(5, 1000);
  for (let round = 0; round < 4; round++) {
    for (let p = 0; p < 3; p++) {
      g.add("t", p, recs(p, round * 2, 2), offsetOf, BigInt(round * 2 + 2));
    }
  }
  const seen = new Map<number, bigint[]>();
  for (const b of closed) for (const r of b.records) seen.set(r.p, [...seen.get(r.p) ?? [], r.o]);
  for (const [, offsets] of seen) {
    assertEquals(offsets, [...offsets].sort((a, b) => Number(a - b)));
  }
  assertEquals(closed.every((b) => b.records.length === 5), true);
});
