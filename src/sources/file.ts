/**
 * File source: JSON Lines (one event per line, README "Events") or Avro object container files.
 *
 * Like Vector's file source it keeps a checkpoint (in the state folder) of how far each input was
 * processed, written only after every sink acknowledged a batch: a second run over the same file
 * reads only what was appended, a crashed run resumes where its last committed batch ended. The
 * checkpoint is a byte offset tied to a fingerprint of the file's first bytes (up to 1 KiB), so a
 * replaced file is read from the start, and so is one now shorter than the offset (truncated).
 * `ics replay` (context `from: "earliest"`) reads from the start whatever the checkpoint says.
 *
 * What is promised at the edges:
 * - Only regular files: a FIFO, a device (`/dev/zero`), a socket or a folder is refused with one
 *   line, before anything is read (a pipe cannot be read twice, and a checkpoint needs that).
 * - A last line without its newline may be a line still being written. Vector's file source never
 *   reads such a line until its newline arrives (vectordotdev/vector#18341); ics reads it once the
 *   file has not changed for `settle_ms` (the line timeout Vector was asked for in #11284), waiting
 *   for that once per run, and otherwise holds it back (not read, not checkpointed) and says so.
 *   Should the file grow after all, the next run reads that line again whole. An Avro file that
 *   ends inside a block is treated the same way (see `_avro_container.ts`).
 * - A line over `validation.max_event_bytes` is dead-lettered (`schema_violation`, its size in the
 *   reason, the letter keeping its first 1 KiB) without being held in memory: reading is linear in
 *   the file's size, whatever its lines.
 * - Dead letters point at the physical line (`position.line`, 1-based, blank lines counted) and
 *   its byte `offset`; for an Avro file at the record's number and its block's offset.
 * @module
 */
import { z } from "zod";
import { join, resolve } from "node:path";
import type { ComponentDef, Source, SourceBatch } from "../core/component.ts";
import { UserError } from "../core/errors.ts";
import type { Durability } from "../core/durable.ts";
import { isBlank, readAt, readLines } from "./_lines.ts";
import { avroItems, type Item, type TailVerdict } from "./_avro_container.ts";
import {
  type Checkpoint,
  fingerprintOf,
  HEAD_BYTES,
  type Resume,
  resumeAt,
  writeCheckpoint,
} from "./_checkpoint.ts";

export const schema = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).describe("Input file: JSON Lines (.jsonl) or Avro container (.avro)."),
  format: z.enum(["auto", "jsonl", "avro"]).default("auto").describe(
    "How the file is encoded; auto decides by extension.",
  ),
  stream: z.string().optional().describe(
    "Stream of every record; by default a JSON event's event_type decides, and for an Avro file the stream whose schema has the writer schema's name.",
  ),
  // 2,000: the batches in flight (up to queue_batches + 2 of them, each holding its records' raw
  // bytes, decoded events and graph changes) are much of what the runner holds live, and V8 lets
  // the heap grow to a multiple of that before a full collection; larger batches are no faster.
  batch_size: z.number().int().min(1).max(100_000).default(2000).describe("Records per batch."),
  settle_ms: z.number().int().min(0).default(1000).describe(
    "A last line without its newline (an Avro block cut short) is read once the file has not changed for this long; until then it is held back.",
  ),
}).describe("Read events from a local file.");

type Config = z.infer<typeof schema>;

/** Bytes of an over-long line (or a bad Avro region) its dead letter keeps. */
export const KEEP_BYTES = 1024;

export const file: ComponentDef<typeof schema, Source, { maxEventBytes?: number }> = {
  type: "file",
  schema,
  create(config, ctx) {
    const path = resolve(ctx.specDir, config.path);
    if (typeof ctx.from === "number") {
      throw new UserError(
        "a file has no record times to start from: --from <time> needs a Kafka source (--from earliest reads the file from its start)",
      );
    }
    return Promise.resolve(
      createFileSource(config, path, {
        checkpoints: join(ctx.stateDir, "checkpoints.json"),
        fromStart: ctx.from === "earliest",
        max: ctx.maxEventBytes ?? 1_048_576,
        log: ctx.log,
        durability: ctx.durability,
      }),
    );
  },
};

interface Options {
  checkpoints: string;
  fromStart: boolean;
  /** `power_loss`: the checkpoint is fsynced before a batch is acked. */
  durability?: Durability;
  max: number;
  log: (level: "info" | "warn" | "error", message: string) => void;
}

function createFileSource(config: Config, path: string, o: Options): Source {
  const format = config.format !== "auto"
    ? config.format
    : path.endsWith(".avro")
    ? "avro"
    : "jsonl";
  let nothingNew: string | undefined;
  return {
    async *batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      await regularFile(path);
      using input = await Deno.open(path);
      const size = (await input.stat()).size;
      const head = await readAt(input, 0, HEAD_BYTES);
      const identity = { fingerprint: fingerprintOf(head), head: head.length };
      const from = o.fromStart
        ? { offset: 0, done: 0 }
        : await resumeAt(input, path, format, size, head, o.checkpoints, o.log);
      // The incomplete end of the input (a last line without its newline, an Avro block cut
      // short) is read once the file has not changed for settle_ms. A run waits for that, or for
      // the file to grow, at most settle_ms in all; then it holds the end back.
      let held: string | undefined;
      let deadline: number | undefined;
      const tail = async (what: string, seen: number): Promise<TailVerdict> => {
        deadline ??= Date.now() + config.settle_ms;
        for (;;) {
          const info = await input.stat();
          const quiet = Date.now() - (info.mtime?.getTime() ?? 0);
          if (info.size !== seen) {
            if (Date.now() <= deadline) return "retry";
          } else if (quiet >= config.settle_ms) return "complete";
          const left = deadline - Date.now();
          if (left < 0 || signal.aborted) {
            held = `${what} of "${path}" is incomplete and the file changed ${
              (Math.max(quiet, 0) / 1000).toFixed(1)
            } s ago: held back until it is complete (settle_ms ${config.settle_ms})`;
            o.log("warn", held);
            return "hold";
          }
          await sleep(Math.min(100, left + 1), signal);
        }
      };
      const items = format === "avro"
        ? avroItems(input, {
          path,
          stream: config.stream,
          from,
          max: o.max,
          keep: KEEP_BYTES,
          tail,
        })
        : jsonlItems(input, { path, stream: config.stream, from, max: o.max, tail });
      let batch: Item[] = [];
      let count = 0;
      const flush = (): SourceBatch => {
        const taken = batch;
        batch = [];
        const end = taken[taken.length - 1].after;
        return {
          records: taken.map((it) => it.record),
          ack: () => {
            const checkpoint: Checkpoint = { ...identity, ...end };
            writeCheckpoint(o.checkpoints, path, checkpoint, o.durability);
            return Promise.resolve();
          },
        };
      };
      nothingNew = undefined;
      for await (const chunk of items) {
        for (const item of Array.isArray(chunk) ? chunk : [chunk]) {
          batch.push(item);
          count++;
          if (batch.length >= config.batch_size) {
            yield flush();
            if (signal.aborted) return;
          }
        }
      }
      if (batch.length > 0) yield flush();
      if (count === 0) {
        nothingNew = held
          ? `Nothing new to read: ${held}.`
          : size === 0
          ? `The input "${path}" is empty.`
          : from.offset === 0
          ? `The input "${path}" holds no ${
            format === "avro" ? "records" : "events, only blank lines"
          }.`
          : "Nothing new to read: the input was already processed (delete the state folder or pass --state to start over).";
      }
    },
    check: () => regularFile(path),
    close: () => Promise.resolve(),
    nothingNew: () => nothingNew,
  };
}

/**
 * The lines of a JSON Lines file as items, a chunk's worth at a time; the last line, without its
 * newline, as `tail` says.
 */
async function* jsonlItems(
  input: Deno.FsFile,
  o: {
    path: string;
    stream?: string;
    from: Resume;
    max: number;
    tail: (what: string, seen: number) => Promise<TailVerdict>;
  },
): AsyncGenerator<Item[]> {
  let at = { offset: o.from.offset, line: o.from.done + 1 };
  restart: for (;;) {
    for await (const lines of readLines(input, at.offset, at.line, o.max, KEEP_BYTES)) {
      const items: Item[] = [];
      for (const l of lines) {
        const tooLong = l.size > o.max;
        // A blank line is no record; one at the end moves no checkpoint, so nothing is lost.
        if (!tooLong && isBlank(l.bytes)) continue;
        if (!l.terminated) {
          const verdict = await o.tail(`line ${l.line} (byte ${l.offset})`, l.end);
          if (verdict === "retry") {
            at = { offset: l.offset, line: l.line };
            continue restart;
          }
          if (verdict === "hold") return;
        }
        items.push({
          record: {
            ...(o.stream ? { stream: o.stream } : {}),
            value: l.bytes,
            format: "json",
            position: { kind: "file", path: o.path, line: l.line, offset: l.offset },
            ...(tooLong
              ? {
                invalid: {
                  category: "schema_violation",
                  reason:
                    `payload of ${l.size} bytes exceeds max_event_bytes (${o.max}); the letter keeps its first ${l.bytes.length} bytes`,
                },
              }
              : {}),
          },
          after: l.terminated
            ? { offset: l.end, done: l.line }
            : { offset: l.offset, done: l.line - 1, tail: l.end },
        });
      }
      if (items.length) yield items;
    }
    return;
  }
}

/** Refuse what is not a regular file, in one line, without opening it (a FIFO would block). */
async function regularFile(path: string): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new UserError(`input file "${path}" does not exist`);
    }
    throw new UserError(`input file "${path}" cannot be read: ${(error as Error).message}`);
  }
  if (info.isFile) return;
  const kind = info.isFifo
    ? "a FIFO"
    : info.isCharDevice || info.isBlockDevice
    ? "a device"
    : info.isSocket
    ? "a socket"
    : info.isDirectory
    ? "a folder"
    : "not a regular file";
  throw new UserError(
    `input "${path}" is ${kind}: the file source reads regular files only (it checkpoints how far it read, and reads again from there); write the stream to a file first`,
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    signal.addEventListener("abort", finish, { once: true });
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      done();
    }
  });
}
