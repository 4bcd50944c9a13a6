import assert from "node:assert/strict";
import { join } from "node:path";
import { file } from "./file_dlq.ts";
import type { DeadLetter } from "../core/types.ts";

const letter = (line: number, payload = `{"bad":${line}`): DeadLetter => ({
  category: "decode_error",
  reason: "unexpected end of JSON input",
  position: { kind: "file", path: "/in/events.jsonl", line },
  payload,
  payload_encoding: "utf8",
  time: 1_740_992_400_000 + line,
  policy: "abc123",
});

const open = (dir: string) =>
  file.create(file.schema.parse({ type: "file" }), { stateDir: dir, specDir: dir, log: () => {} });

const lines = async (dir: string) =>
  (await Deno.readTextFile(join(dir, "dlq.jsonl"))).split("\n").filter(Boolean)
    .map((l) => JSON.parse(l).position.line);

Deno.test("file DLQ: a batch replayed after a crash (same instance or a new one) is not appended twice", async () => {
  const dir = await Deno.makeTempDir();
  const first = await open(dir);
  await first.write([letter(3), letter(7)]);
  await first.write([letter(7), letter(9)]); // 7 again: a replayed batch
  // A restarted runner replays the batch the crash interrupted, with a later dead-letter time.
  const second = await open(dir);
  await second.write([{ ...letter(9), time: 1 }, letter(12)]);
  // The same line with other bytes (the input file was replaced) is another record.
  await second.write([letter(3, "not json")]);
  assert.deepEqual(await lines(dir), [3, 7, 9, 12, 3]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file DLQ: a letter cut short by a kill is dropped on open and written whole again", async () => {
  const dir = await Deno.makeTempDir();
  await (await open(dir)).write([letter(3)]);
  const whole = JSON.stringify(letter(7)) + "\n";
  await Deno.writeTextFile(join(dir, "dlq.jsonl"), whole.slice(0, 30), { append: true });
  await (await open(dir)).write([letter(7)]);
  assert.deepEqual(await lines(dir), [3, 7]);
  await Deno.remove(dir, { recursive: true });
});
