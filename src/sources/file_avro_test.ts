import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import avro from "avsc";
import { file } from "./file.ts";
import { schema as dlqSchema } from "./dlq.ts";
import type { Source } from "../core/component.ts";
import type { Event, RawRecord } from "../core/types.ts";
import { loadSpec } from "../compiler/mod.ts";
import { createDecoder } from "../codecs/mod.ts";
import { compile, run } from "../runtime/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
const { spec } = await loadSpec(join(root, "pipeline.yaml"), () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");
const decode = createDecoder(spec);
const schemaOf = (stream: string) =>
  JSON.parse(Deno.readTextFileSync(join(root, `schemas/avro/${stream}_event.avsc`)));

/** The samples' valid events of a stream, as the decoder gives them (defaults filled in). */
const samples: Record<string, Event[]> = {};
for (const line of Deno.readTextFileSync(join(root, "samples/events.jsonl")).trim().split("\n")) {
  const d = decode({
    value: new TextEncoder().encode(line),
    format: "json",
    position: { kind: "file", path: "samples", line: 0 },
  });
  if (d.ok) (samples[d.stream] ??= []).push(d.event);
}

/** The sync marker of the test files. */
const SYNC = new Uint8Array([7, 201, 33, 90, 128, 14, 250, 61, 99, 3, 177, 45, 222, 18, 140, 76]);

/** An Avro container file of `values` written with `schema` (small blocks: several per file). */
async function container(
  schema: unknown,
  values: unknown[],
  options: { blockSize?: number; codec?: string } = {},
): Promise<Uint8Array> {
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, {
    blockSize: options.blockSize ?? 1000,
    codec: options.codec ?? "null",
    syncMarker: Buffer.from(SYNC),
  });
  const chunks: Buffer[] = [];
  encoder.on("data", (c: Buffer) => chunks.push(c));
  const ended = new Promise((r) => encoder.on("end", r));
  for (const v of values) encoder.write(v);
  encoder.end();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

async function source(dir: string, extra: Record<string, unknown> = {}) {
  const config = file.schema.parse({ type: "file", path: "in.avro", batch_size: 7, ...extra });
  return await file.create(config, { stateDir: dir, specDir: dir, log: () => {} });
}

async function drain(s: Source): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  for await (const b of s.batches(new AbortController().signal)) {
    records.push(...b.records);
    await b.ack();
  }
  return records;
}

const checkpoint = (dir: string) =>
  JSON.parse(Deno.readTextFileSync(join(dir, "checkpoints.json")))[join(dir, "in.avro")];
const events = (records: RawRecord[]) =>
  records.map((r) => {
    const d = decode(r);
    assert.ok(d.ok, `${JSON.stringify(r.position)}: ${!d.ok && d.reason}`);
    return d.ok && { ...d.event };
  });
/** Where each block of a container starts and how many records it holds (found by its markers). */
function blocksOf(bytes: Uint8Array): { start: number; count: number }[] {
  const sync = SYNC;
  const out = [];
  for (let i = bytes.indexOf(sync[0]); i !== -1; i = bytes.indexOf(sync[0], i + 1)) {
    if (!sync.every((b, k) => bytes[i + k] === b) || i + 16 >= bytes.length) continue;
    assert.ok(bytes[i + 16] < 0x80, "a one-byte count");
    out.push({ start: i + 16, count: bytes[i + 16] >> 1 });
  }
  return out;
}

/** For each record of a container, the index of its block. */
const blockOfRecord = (blocks: { count: number }[]) =>
  blocks.flatMap((b, k) => Array.from({ length: b.count }, () => k));
const dde = avro.Type.forSchema(schemaOf("dde"));

const settled = async (path: string) => {
  const past = new Date(Date.now() - 60_000);
  await Deno.utime(path, past, past);
};

Deno.test("Avro file: fields are read by name when the writer lists them in another order", async () => {
  const dir = await Deno.makeTempDir();
  const reader = schemaOf("dde");
  const writer = { ...reader, fields: [...reader.fields].reverse() };
  await Deno.writeFile(join(dir, "in.avro"), await container(writer, samples.dde));
  const records = await drain(await source(dir, { stream: "dde" }));
  assert.deepEqual(events(records), samples.dde);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file: a writer schema with a new optional field is read as the stream's", async () => {
  const dir = await Deno.makeTempDir();
  const reader = schemaOf("bdv");
  const writer = {
    ...reader,
    fields: [...reader.fields, { name: "shard", type: ["null", "string"], default: null }],
  };
  const values = samples.bdv.map((e, i) => ({ ...e, shard: `s${i}` }));
  await Deno.writeFile(join(dir, "in.avro"), await container(writer, values));
  assert.deepEqual(events(await drain(await source(dir, { stream: "bdv" }))), samples.bdv);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file: the stream is the one whose schema has the writer schema's name", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(join(dir, "in.avro"), await container(schemaOf("acc"), samples.acc));
  const records = await drain(await source(dir));
  assert.deepEqual(records.map((r) => decode(r).stream), samples.acc.map(() => "acc"));
  assert.deepEqual(events(records), samples.acc);
  // A schema of another name: what to add is said.
  await Deno.writeFile(
    join(dir, "in.avro"),
    await container({ ...schemaOf("acc"), name: "Other" }, samples.acc.slice(0, 1)),
  );
  const [other] = await drain(await source(dir));
  const d = decode(other);
  assert.ok(!d.ok);
  assert.equal(d.category, "decode_error");
  assert.match(
    d.reason,
    /^writer schema trimodal\.events\.acc\.Other is the schema of no stream \(dde: trimodal\.events\.dde\.DdeEvent, .*\); name the stream with the file source's "stream:"$/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file on the shipped local target: every record processed, none dead-lettered", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "dde.avro");
  await Deno.writeFile(input, await container(schemaOf("dde"), samples.dde, { codec: "deflate" }));
  const state = join(dir, "state");
  for (const pass of [1, 2]) {
    const p = await compile(spec, { input, stateDir: state });
    try {
      const { telemetry } = await run(p);
      // (The samples' own mapping_error event is the one letter of the JSON run too.)
      assert.equal(telemetry.get("dlq_events_total", { category: "decode_error" }), 0);
      assert.equal(telemetry.get("dlq_events_total", { category: "schema_violation" }), 0);
      assert.equal(telemetry.get("events_received_total"), pass === 1 ? samples.dde.length : 0);
      if (pass === 2) assert.match(p.source.nothingNew!()!, /already processed/);
    } finally {
      await p.close();
    }
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file cut short: whole records read, the rest dead-lettered with file and offset, all committed", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.avro");
  const whole = await container(schemaOf("dde"), samples.dde);
  const blocks = blocksOf(whole);
  assert.ok(blocks.length >= 3, `${blocks.length} blocks`);
  // Cut inside the last block, two records and a few bytes into it.
  const last = blocks[blocks.length - 1];
  const before = samples.dde.length - last.count;
  assert.ok(whole[last.start + 1] & 0x80 && !(whole[last.start + 2] & 0x80), "2-byte size");
  const cut = last.start + 3 + dde.toBuffer(samples.dde[before]).length +
    dde.toBuffer(samples.dde[before + 1]).length + 5;
  await Deno.writeFile(path, whole.subarray(0, cut));
  await settled(path);
  const records = await drain(await source(dir));
  assert.equal(records.length, before + 2 + 1);
  assert.deepEqual(events(records.slice(0, -1)), samples.dde.slice(0, before + 2));
  const letter = records[records.length - 1];
  assert.equal(letter.invalid?.category, "decode_error");
  assert.match(
    letter.invalid!.reason,
    new RegExp(
      `^Avro file ".*in\\.avro" is cut short: it ends at byte ${cut}, inside the block at byte ${last.start} \\(${last.count} records in \\d+ bytes declared\\); 2 whole records were read, the rest is lost$`,
    ),
  );
  assert.deepEqual(letter.position, {
    kind: "file",
    path,
    line: before + 3,
    offset: last.start,
  });
  assert.deepEqual(decode(letter), {
    ok: false,
    category: "decode_error",
    reason: letter.invalid!.reason,
    stream: undefined,
  });
  assert.equal(checkpoint(dir).tail, cut);
  // Nothing new while it stays so; once the rest is there, the rest of the block is read.
  assert.equal((await drain(await source(dir))).length, 0);
  await Deno.writeFile(path, whole);
  const rest = await drain(await source(dir));
  assert.deepEqual(events(rest), samples.dde.slice(before + 2));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file with a damaged sync marker or block size: one letter each, everything else read and committed", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.avro");
  const whole = await container(schemaOf("dde"), samples.dde);
  const blocks = blocksOf(whole);
  assert.ok(blocks.length >= 4, `${blocks.length} blocks`);
  const [, b1, b2, b3] = blocks.map((b) => b.start);
  // The sync marker ending block 1 is damaged; block 2 declares 9 bytes less than it holds.
  const bad = whole.slice();
  bad[b2 - 3] ^= 0xff;
  assert.ok(bad[b2 + 1] & 0x80 && !(bad[b2 + 2] & 0x80) && (bad[b2 + 1] & 0x7f) >= 18);
  bad[b2 + 1] -= 18; // zigzag: 9 bytes less
  await Deno.writeFile(path, bad);
  const records = await drain(await source(dir));
  const letters = records.filter((r) => r.invalid);
  assert.deepEqual(letters.map((r) => r.position.kind === "file" && r.position.offset), [b1, b2]);
  assert.equal(
    letters[0].invalid!.reason,
    `damaged sync marker at byte ${
      b2 - 16
    } of "${path}", after the Avro block at byte ${b1}; the block's size and count hold, so its records are read`,
  );
  assert.match(
    letters[1].invalid!.reason,
    new RegExp(
      `^corrupt Avro block at byte ${b2} of ".*in\\.avro": no sync marker where its \\d+ bytes end; skipped ${
        b3 - b2
      } bytes to the next sync marker$`,
    ),
  );
  const block = blockOfRecord(blocks);
  assert.deepEqual(
    events(records.filter((r) => !r.invalid)),
    samples.dde.filter((_, i) => block[i] !== 2),
  );
  assert.equal(checkpoint(dir).offset, whole.length);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file with a corrupt block count: its records are read, the mismatch is dead-lettered", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.avro");
  const whole = await container(schemaOf("dde"), samples.dde);
  const { start, count } = blocksOf(whole)[1];
  const bad = whole.slice();
  bad[start] = (count + 5) * 2; // zigzag
  await Deno.writeFile(path, bad);
  const records = await drain(await source(dir));
  assert.deepEqual(events(records.filter((r) => !r.invalid)), samples.dde);
  const letters = records.filter((r) => r.invalid);
  assert.equal(letters.length, 1);
  assert.equal(
    letters[0].invalid!.reason,
    `the Avro block at byte ${start} of "${path}" declares ${
      count + 5
    } records, its data holds ${count}`,
  );
  assert.equal(checkpoint(dir).offset, whole.length);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file: a second run reads only the blocks appended since", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "in.avro");
  const whole = await container(schemaOf("dde"), samples.dde);
  const blocks = blocksOf(whole);
  await Deno.writeFile(path, whole.subarray(0, blocks[2].start));
  const first = await drain(await source(dir));
  assert.equal(first.length, blocks[0].count + blocks[1].count);
  await Deno.writeFile(path, whole);
  const second = await drain(await source(dir));
  assert.deepEqual(events([...first, ...second]), samples.dde);
  assert.deepEqual(
    second.map((r) => r.position.kind === "file" && r.position.line),
    samples.dde.slice(first.length).map((_, i) => first.length + i + 1),
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Avro file: a dead letter is redriven with the file's own writer schema", async () => {
  const dir = await Deno.makeTempDir();
  const input = join(dir, "dde.avro");
  const reader = schemaOf("dde");
  const writer = { ...reader, fields: [...reader.fields].reverse() };
  // One event in seconds instead of milliseconds: a schema_violation.
  const values = samples.dde.map((e, i) => i === 3 ? { ...e, timestamp: 1_740_992_400 } : e);
  await Deno.writeFile(input, await container(writer, values));
  const state = join(dir, "state");
  const p = await compile(spec, { input, stateDir: state });
  try {
    await run(p);
  } finally {
    await p.close();
  }
  const letters = Deno.readTextFileSync(join(state, "dlq.jsonl")).trim().split("\n")
    .map((l) => JSON.parse(l)).filter((l) => l.category === "schema_violation");
  assert.equal(letters.length, 1);
  assert.equal(letters[0].format, "avro");
  assert.match(letters[0].reason, /^timestamp 1740992400 is before min_timestamp/);
  // Read back as `ics dlq redrive` does: decoded the same way, so it fails for the same reason.
  const redrive = await compile(spec, {
    stateDir: state,
    replace: {
      source: dlqSchema.parse({ type: "dlq", queue: { type: "file" }, dry_run: true }),
    },
  });
  try {
    const records: RawRecord[] = [];
    for await (const b of redrive.source.batches(new AbortController().signal)) {
      records.push(...b.records);
    }
    const again = records.filter((r) => r.redrive?.category === "schema_violation");
    assert.equal(again.length, 1);
    const d = redrive.decoder(again[0]);
    assert.ok(!d.ok);
    assert.equal(d.reason, letters[0].reason);
  } finally {
    await redrive.close();
  }
  await Deno.remove(dir, { recursive: true });
});
