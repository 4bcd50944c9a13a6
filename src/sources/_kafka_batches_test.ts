import { deepEqual, equal } from "node:assert/strict";
import type { EachBatchPayload } from "kafkajs";
import type { SourceBatch } from "../core/component.ts";
import { handoff } from "./_handoff.ts";
import { createBatcher } from "./_kafka_batches.ts";
import { fakeClock } from "./_fake_clock.ts";

/** A kafkajs eachBatch payload of `n` messages from `first` (only what the batcher reads). */
function payload(topic: string, partition: number, first: number, n: number) {
  const resolved: string[] = [];
  const p = {
    batch: {
      topic,
      partition,
      messages: Array.from({ length: n }, (_, i) => ({
        offset: String(first + i),
        key: null,
        value: new Uint8Array([i]),
        headers: {},
      })),
      lastOffset: () => String(first + n - 1),
      offsetLag: () => "0",
    },
    resolveOffset: (o: string) => void resolved.push(o),
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
    pause: () => () => {},
  };
  return { p: p as unknown as EachBatchPayload, resolved };
}

function setup(maxRecords: number, maxWaitMs: number) {
  const clock = fakeClock();
  const hand = handoff<SourceBatch>();
  const commits: { topic: string; partition: number; offset: string }[][] = [];
  const batcher = createBatcher({
    group: "g",
    maxRecords,
    maxWaitMs,
    beatMs: 5,
    hand,
    drain: () => undefined,
    format: "avro",
    streamOf: new Map([["t", "s"], ["u", "v"]]),
    log: () => {},
    commit: (positions) => {
      commits.push(positions);
      return Promise.resolve();
    },
    revokeWaitMs: 1000,
    clock,
  });
  return { clock, hand, commits, batcher };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("kafka batches: the partitions of one fetch make one batch; its ack commits them all", async () => {
  const { clock, hand, commits, batcher } = setup(100, 50);
  const a = payload("t", 0, 10, 3);
  const b = payload("u", 0, 0, 2);
  const running = [batcher.eachBatch(a.p), batcher.eachBatch(b.p)];
  await tick();
  clock.advance(0); // the quiet check: both partitions added
  const batch = (await hand.take())!;
  equal(batch.records.length, 5);
  deepEqual(batch.offsets, {
    group: "g",
    topics: [
      { topic: "t", partitions: [{ partition: 0, offset: "13" }] },
      { topic: "u", partitions: [{ partition: 0, offset: "2" }] },
    ],
  });
  equal(batch.epoch, 0);
  deepEqual(a.resolved, [], "nothing is resolved before the ack");
  await batch.ack();
  await Promise.all(running);
  deepEqual(commits, [[
    { topic: "t", partition: 0, offset: "13" },
    { topic: "u", partition: 0, offset: "2" },
  ]]);
  deepEqual(a.resolved, ["12"]);
  deepEqual(b.resolved, ["1"]);
});

Deno.test("kafka batches: a part split over full batches resolves after each ack", async () => {
  const { clock, hand, commits, batcher } = setup(2, 50);
  const a = payload("t", 1, 0, 3);
  const running = batcher.eachBatch(a.p);
  const first = (await hand.take())!;
  equal(first.records.length, 2);
  await first.ack();
  await tick();
  deepEqual(a.resolved, ["1"]);
  clock.advance(0); // the rest closes once its adder left (quiet)
  const second = (await hand.take())!;
  equal(second.records.length, 1);
  await second.ack();
  await running;
  deepEqual(a.resolved, ["1", "2"]);
  deepEqual(commits.map((c) => c[0].offset), ["2", "3"]);
});

Deno.test("kafka batches: a rebalance drops the batch not taken; its partitions are not resolved", async () => {
  const { clock, hand, commits, batcher } = setup(100, 50);
  const a = payload("t", 0, 0, 2);
  let beats = 0;
  // deno-lint-ignore no-explicit-any
  (a.p as any).heartbeat = () => {
    beats++;
    return Promise.reject(
      Object.assign(new Error("rebalancing"), { type: "REBALANCE_IN_PROGRESS" }),
    );
  };
  const running = batcher.eachBatch(a.p).catch((e) => e);
  await tick();
  clock.advance(0); // closes; nobody takes it: the put waits, eachBatch heartbeats
  const error = await running;
  equal(beats > 0, true);
  equal((error as Error).message, "rebalancing");
  deepEqual(a.resolved, []);
  deepEqual(commits, []);
  batcher.reassigned({ t: [0] });
  equal(batcher.epoch(), 1);
  hand.close();
  equal(await hand.take(), undefined, "the dropped batch was withdrawn");
});

Deno.test("kafka batches: a new assignment without a batch's partition makes it stale", async () => {
  const { clock, hand, commits, batcher } = setup(100, 50);
  const a = payload("t", 0, 0, 1);
  const b = payload("t", 1, 0, 1);
  const running = Promise.all([batcher.eachBatch(a.p), batcher.eachBatch(b.p)]);
  await tick();
  clock.advance(0);
  const batch = (await hand.take())!;
  batcher.reassigned({ t: [0] });
  deepEqual(batch.offsets!.topics, [], "a transactional commit commits nothing");
  await batch.ack();
  await running;
  deepEqual(commits, []);
  deepEqual([a.resolved, b.resolved], [[], []], "both are read again");
});
