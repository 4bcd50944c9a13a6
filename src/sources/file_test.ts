import assert from "node:assert/strict";
import { join } from "node:path";
import { file } from "./file.ts";
import type { Source, SourceBatch } from "../core/component.ts";
import type { RawRecord } from "../core/types.ts";
import { UserError } from "../core/errors.ts";

async function source(dir: string, name = "in.jsonl", extra: Record<string, unknown> = {}) {
  const config = file.schema.parse({ type: "file", path: name, batch_size: 2, ...extra });
  return await file.create(config, { stateDir: dir, specDir: dir, log: () => {} });
}

/** Every batch of one run, acknowledged in order; their records. */
async function drain(s: Source): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  for await (const b of s.batches(new AbortController().signal)) {
    records.push(...b.records);
    await b.ack();
  }
  return records;
}

const text = (r: RawRecord) => new TextDecoder().decode(r.value);
const checkpoint = (dir: string, name = "in.jsonl") =>
  JSON.parse(Deno.readTextFileSync(join(dir, "checkpoints.json")))[join(dir, name)];
const done = (dir: string) => checkpoint(dir).done;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

Deno.test("file source: a second run reads only the lines appended since", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  await Deno.writeTextFile(path, "1\n2\n3\n");
  assert.deepEqual((await drain(await source(dir))).map(text), ["1", "2", "3"]);
  await Deno.writeTextFile(path, "4\n\n5\n", { append: true });
  const again = await drain(await source(dir));
  assert.deepEqual(again.map(text), ["4", "5"]);
  assert.deepEqual(again.map((r) => r.position), [
    { kind: "file", path, line: 4, offset: 6 },
    { kind: "file", path, line: 6, offset: 9 },
  ]);
  // Replaced by another file: read from its start.
  await Deno.writeTextFile(path, "a\nb\n");
  assert.deepEqual((await drain(await source(dir))).map(text), ["a", "b"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source holds back a line without its newline while it is written, and reads it whole", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  await Deno.writeTextFile(path, '{"n":1}\n{"n":2,"te');
  // The writer finishes the line a moment later, while the run is at the end of the file.
  const writer = sleep(200).then(() => Deno.writeTextFile(path, 'xt":"x"}\n', { append: true }));
  const records = await drain(await source(dir));
  await writer;
  assert.deepEqual(records.map(text), ['{"n":1}', '{"n":2,"text":"x"}']);
  assert.equal(done(dir), 2);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source does not consume a line still being written, and reads it whole on the next run", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  await Deno.writeTextFile(path, '{"n":1}\n{"n":2,"text":"');
  // A slow writer: a byte every 50 ms, for longer than the run waits (settle_ms, 1 s by default).
  let writing = true;
  const writer = (async () => {
    while (writing) {
      await sleep(50);
      await Deno.writeTextFile(path, "x", { append: true });
    }
    await Deno.writeTextFile(path, '"}\n', { append: true });
  })();
  const s = await source(dir);
  const first = await drain(s);
  writing = false;
  await writer;
  assert.deepEqual(first.map(text), ['{"n":1}']);
  assert.equal(s.nothingNew?.(), undefined); // it read something
  assert.equal(done(dir), 1);
  const second = await drain(await source(dir));
  assert.equal(second.length, 1);
  assert.match(text(second[0]), /^\{"n":2,"text":"x+"\}$/);
  assert.deepEqual(second[0].position, { kind: "file", path, line: 2, offset: 8 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source reads a last line taken as complete again whole when the file grows after all", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  await Deno.writeTextFile(path, '{"n":1}\n{"n":2,"te');
  // Quiet for longer than settle_ms: the line is taken as complete (a file without a last newline).
  const past = new Date(Date.now() - 60_000);
  await Deno.utime(path, past, past);
  assert.deepEqual((await drain(await source(dir))).map(text), ['{"n":1}', '{"n":2,"te']);
  await Deno.writeTextFile(path, 'xt":"x"}\n{"n":3}\n', { append: true });
  const again = await drain(await source(dir));
  assert.deepEqual(again.map(text), ['{"n":2,"text":"x"}', '{"n":3}']);
  assert.deepEqual(again.map((r) => r.position.kind === "file" && r.position.line), [2, 3]);
  // A newline was all that was missing: the next line is read, nothing twice.
  await Deno.writeTextFile(path, '{"n":4}');
  await Deno.utime(path, past, past);
  await drain(await source(dir)); // a new file: read from its start, {"n":4} taken as complete
  await Deno.writeTextFile(path, '\n{"n":5}\n', { append: true });
  assert.deepEqual((await drain(await source(dir))).map(text), ['{"n":5}']);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source refuses a FIFO in one line, without losing or blocking on it", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  const made = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(made.code, 0);
  // A writer that would feed three lines of 600 bytes into the FIFO.
  const line = JSON.stringify({ pad: "x".repeat(590) });
  const writer = new Deno.Command("sh", {
    args: ["-c", `for i in 1 2 3; do echo '${line}'; done > "$0"`, path],
  }).spawn();
  try {
    const s = await source(dir);
    for (const attempt of [() => s.check(), () => drain(s)]) {
      await assert.rejects(attempt, (e: Error) => {
        assert.ok(e instanceof UserError, String(e));
        assert.match(
          e.message,
          /^input ".*in\.jsonl" is a FIFO: the file source reads regular files/,
        );
        assert.doesNotMatch(e.message, /\n/);
        return true;
      });
    }
  } finally {
    writer.kill();
    await writer.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file source dead-letters a line over max_event_bytes without holding it, reading on", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  const big = 20 * 1024 * 1024;
  const f = await Deno.open(path, { write: true, create: true });
  await f.write(new TextEncoder().encode('{"n":1}\n{"pad":"'));
  const chunk = new Uint8Array(1024 * 1024).fill(0x61);
  for (let i = 0; i < big / chunk.length; i++) await f.write(chunk);
  await f.write(new TextEncoder().encode('"}\r\n{"n":3}\n'));
  f.close();
  const s = await file.create(file.schema.parse({ type: "file", path: "in.jsonl" }), {
    stateDir: dir,
    specDir: dir,
    log: () => {},
    maxEventBytes: 1_048_576,
  });
  const records = await drain(s);
  assert.deepEqual(records.map((r) => r.position), [
    { kind: "file", path, line: 1, offset: 0 },
    { kind: "file", path, line: 2, offset: 8 },
    { kind: "file", path, line: 3, offset: 8 + 10 + big + 2 },
  ]);
  const long = records[1];
  assert.equal(long.value.length, 1024);
  assert.deepEqual(long.invalid, {
    category: "schema_violation",
    reason: `payload of ${
      10 + big
    } bytes exceeds max_event_bytes (1048576); the letter keeps its first 1024 bytes`,
  });
  assert.equal(text(records[2]), '{"n":3}');
  assert.equal(done(dir), 3);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source: position.line is the physical line, whatever blank lines and CRLF come before", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  const lines = ["a", "", "b\r", "  \t", "\r", "c", "", "", "d"];
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  const records = await drain(await source(dir));
  assert.deepEqual(records.map(text), ["a", "b", "c", "d"]);
  assert.deepEqual(records.map((r) => r.position.kind === "file" && r.position.line), [1, 3, 6, 9]);
  const bytes = await Deno.readFile(path);
  for (const r of records) {
    const at = r.position.kind === "file" ? r.position.offset! : -1;
    assert.deepEqual(bytes.subarray(at, at + r.value.length), r.value, "offset points at the line");
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("file source tells an empty input from one already processed", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.jsonl");
  await Deno.writeTextFile(path, "");
  let s = await source(dir);
  assert.equal((await drain(s)).length, 0);
  assert.match(s.nothingNew!()!, /^The input ".*in\.jsonl" is empty\.$/);
  await Deno.writeTextFile(path, "\n \n");
  s = await source(dir);
  await drain(s);
  assert.match(s.nothingNew!()!, /holds no events, only blank lines/);
  await Deno.writeTextFile(path, "1\n");
  s = await source(dir);
  assert.equal((await drain(s)).length, 1);
  assert.equal(s.nothingNew!(), undefined);
  s = await source(dir);
  await drain(s);
  assert.match(s.nothingNew!()!, /^Nothing new to read: the input was already processed/);
  await Deno.remove(dir, { recursive: true });
});
