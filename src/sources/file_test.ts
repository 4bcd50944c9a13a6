import assert from "node:assert/strict";
import { join } from "node:path";
import { file } from "./file.ts";
import type { SourceBatch } from "../core/component.ts";

async function source(dir: string) {
  const config = file.schema.parse({ type: "file", path: "in.jsonl", batch_size: 2 });
  return await file.create(config, { stateDir: dir, specDir: dir, log: () => {} });
}

const done = (dir: string) =>
  JSON.parse(Deno.readTextFileSync(join(dir, "checkpoints.json")))[join(dir, "in.jsonl")].done;

Deno.test("file source: batches taken ahead of their acks still checkpoint where they end", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "in.jsonl"), "1\n2\n3\n4\n5\n");
  // The runtime processes a batch while the previous one is written: take all, then ack in order.
  const batches: SourceBatch[] = [];
  for await (const b of (await source(dir)).batches(new AbortController().signal)) batches.push(b);
  assert.deepEqual(batches.map((b) => b.records.length), [2, 2, 1]);
  const ends = [];
  for (const b of batches) {
    await b.ack();
    ends.push(done(dir));
  }
  assert.deepEqual(ends, [2, 4, 5]);
  // A second run reads nothing new.
  const again = [];
  for await (const b of (await source(dir)).batches(new AbortController().signal)) again.push(b);
  assert.equal(again.length, 0);
  await Deno.remove(dir, { recursive: true });
});
