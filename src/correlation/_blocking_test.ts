import assert from "node:assert/strict";
import fc from "fast-check";
import { diceBlocking, occurrences } from "./_blocking.ts";
import { dice } from "./_similarity.ts";

const meets = (probes: string[], keys: string[]) => probes.some((p) => keys.includes(p));
/** Few words, so that random lists share some (and repeat some). */
const words = fc.array(fc.constantFrom("user", "service", "api", "order", "store", "x"), {
  minLength: 0,
  maxLength: 15,
});
const RUNS = 3000;
/** Bounds, among them the Dice values of small lists exactly (where an off-by-one would show). */
const bound = (min: number) =>
  fc.oneof(
    fc.double({ min, max: 1, noNaN: true }),
    fc.constantFrom(
      1,
      6 / 7,
      0.85,
      4 / 5,
      3 / 4,
      2 / 3,
      1 / 2,
      2 / 5,
      1 / 3,
      2 / 7,
      1 / 4,
      2 / 9,
      1 / 5,
    ),
  );

Deno.test("blocking: the occurrences of a multiset make a set of the same common count", () => {
  assert.deepEqual(occurrences(["user", "api", "user", "user"]), [
    "user",
    "api",
    "user#2",
    "user#3",
  ]);
});

Deno.test("blocking: every pair sharing a word with Dice at or above the bound meets, both ways", () => {
  fc.assert(
    fc.property(
      words,
      words,
      bound(-0.2),
      (a, b, d) => {
        const block = diceBlocking({ minDice: d });
        const x = block(a), y = block(b);
        const shared = a.some((t) => b.includes(t));
        if (!shared || dice(a, b) < d) return;
        assert.ok(meets(x.probes, y.keys), `${a} does not find ${b} at ${d}`);
        assert.ok(meets(y.probes, x.keys), `${b} does not find ${a} at ${d}`);
      },
    ),
    { numRuns: RUNS, seed: 11 },
  );
});

Deno.test("blocking: timed, pairs less than a bucket apart or identical meet at any bound", () => {
  fc.assert(
    fc.property(
      words,
      words,
      bound(0.01),
      fc.integer({ min: -3, max: 3 }),
      fc.integer({ min: 1, max: 16 }),
      (a, b, d, gap, timeWords) => {
        const block = diceBlocking({ minDice: d, timeWords });
        const x = block(a, 100), y = block(b, 100 + gap);
        const identical = dice(a, b) === 1;
        const long = Math.max(a.length, b.length) > timeWords;
        if (!a.some((t) => b.includes(t)) || dice(a, b) < d) return;
        if (!identical && !long && Math.abs(gap) > 1) return; // outside the promise
        assert.ok(meets(x.probes, y.keys), `${a} does not find ${b} at ${d}, ${gap} buckets`);
        assert.ok(meets(y.probes, x.keys), `${b} does not find ${a} at ${d}, ${gap} buckets`);
      },
    ),
    { numRuns: RUNS, seed: 12 },
  );
});

Deno.test("blocking at 0.85: names meet on two shared words, or all three of three", () => {
  const block = diceBlocking({ minDice: 0.85 });
  const service = block(["user", "service"]);
  assert.ok(meets(block(["service", "user"]).probes, service.keys));
  for (
    const other of [["user", "api"], ["order", "service"], ["user"], ["user", "service", "client"]]
  ) {
    assert.ok(!meets(block(other).probes, service.keys), other.join("_"));
  }
  assert.ok(meets(block(["user"]).probes, block(["user"]).keys));
  const three = block(["user", "order", "service"]);
  assert.ok(meets(block(["order", "user", "service"]).probes, three.keys));
  assert.ok(meets(block(["user", "order", "service", "v2"]).probes, three.keys));
  assert.ok(!meets(block(["user", "cart", "service"]).probes, three.keys));
});

Deno.test("blocking at 1/3: one common word is looked up only among names short enough", () => {
  const block = diceBlocking({ minDice: 1 / 3 - 1e-6 });
  // 2 / (3 + 3) = 1/3 reaches the bound: [build user service] and [user expected response] meet.
  assert.ok(meets(block(["build", "user", "service"]).probes, block(["user", "a", "b"]).keys));
  // 2 / (3 + 4) does not: one shared word is not enough for a four-word name.
  assert.ok(
    !meets(block(["build", "user", "service"]).probes, block(["user", "a", "b", "c"]).keys),
  );
  assert.ok(
    meets(block(["build", "user", "service"]).probes, block(["user", "service", "b", "c"]).keys),
  );
});

Deno.test("blocking: timed names meet in the next bucket, not two away, unless identical", () => {
  const block = diceBlocking({ minDice: 0.5, timeWords: 20 });
  const a = block(["user", "service"], 10);
  assert.ok(meets(block(["user", "service", "api"], 11).probes, a.keys));
  assert.ok(!meets(block(["user", "service", "api"], 12).probes, a.keys));
  assert.ok(meets(block(["service", "user"], 99).probes, a.keys));
  // Beyond timeWords, names meet on a shared word at any time.
  const short = diceBlocking({ minDice: 0.5, timeWords: 2 });
  assert.ok(
    meets(short(["user", "service", "api"], 99).probes, short(["user", "service"], 10).keys),
  );
});

Deno.test("blocking: names of more than 12 words meet by prefix the names that can qualify", () => {
  const block = diceBlocking({ minDice: 0.85 });
  const words = (s: string) => s.split(" ");
  const long = block(words("a b c d e f g h i j k l user"));
  // 24 / 25 = 0.96: a twelve-word name qualifies; a two-word one cannot (at most 4 / 15).
  assert.ok(meets(long.probes, block(words("a b c d e f g h i j k user")).keys));
  assert.ok(meets(block(words("a b c d e f g h i j k user")).probes, long.keys));
  assert.ok(meets(block(words("b c d e f g h i j k l m user")).probes, long.keys));
  assert.ok(!meets(long.probes, block(["user", "x"]).keys));
  assert.deepEqual(block(["user", "x"]).keys, ["K2:user|x"]);
  assert.deepEqual(block([]), { keys: [], probes: [] });
});
