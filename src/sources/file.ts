/**
 * File source: JSON Lines (one EVENTS.md event per line) or Avro object container files (`.avro`).
 *
 * Like Vector's file source it keeps a checkpoint (in the state folder) of how far each input was
 * processed, written only after every sink acknowledged a batch: a second run over the same file
 * reads nothing new, a crashed run resumes where its last committed batch ended. The checkpoint is
 * tied to a fingerprint of the file's first bytes, so a replaced file is read from the start.
 * `ics replay` (context `from: "earliest"`) reads from the start whatever the checkpoint says.
 * @module
 */
import { z } from "zod";
import avro from "avsc";
import { join, resolve } from "node:path";
import type { ComponentDef, Source, SourceBatch } from "../core/component.ts";
import type { RawRecord } from "../core/types.ts";
import { sha256 } from "../core/hash.ts";
import { UserError } from "../core/errors.ts";
import { type Durability, replaceFileSync } from "../core/durable.ts";

export const schema = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).describe("Input file: JSON Lines (.jsonl) or Avro container (.avro)."),
  format: z.enum(["auto", "jsonl", "avro"]).default("auto").describe(
    "How the file is encoded; auto decides by extension.",
  ),
  stream: z.string().optional().describe(
    "Stream of every record; by default each event's event_type decides.",
  ),
  batch_size: z.number().int().min(1).max(100_000).default(5000).describe("Records per batch."),
}).describe("Read events from a local file.");

type Config = z.infer<typeof schema>;

interface Checkpoint {
  fingerprint: string;
  /** Records (lines) already committed. */
  done: number;
}

export const file: ComponentDef<typeof schema, Source> = {
  type: "file",
  schema,
  create(config: Config, ctx) {
    const path = resolve(ctx.specDir, config.path);
    const checkpoints = join(ctx.stateDir, "checkpoints.json");
    if (typeof ctx.from === "number") {
      throw new UserError(
        "a file has no record times to start from: --from <time> needs a Kafka source (--from earliest reads the file from its start)",
      );
    }
    return Promise.resolve(
      createFileSource(config, path, checkpoints, ctx.from === "earliest", ctx.durability),
    );
  },
};

function createFileSource(
  config: Config,
  path: string,
  checkpointFile: string,
  fromStart: boolean,
  durability?: Durability,
): Source {
  const format = config.format !== "auto"
    ? config.format
    : path.endsWith(".avro")
    ? "avro"
    : "jsonl";
  return {
    async *batches(signal: AbortSignal): AsyncIterable<SourceBatch> {
      const fingerprint = await fingerprintOf(path);
      const all = readCheckpoints(checkpointFile);
      const start = !fromStart && all[path]?.fingerprint === fingerprint ? all[path].done : 0;
      // Where the next batch starts: the runtime takes batches ahead of their acks (it
      // processes one while the previous is written), so this runs ahead of the checkpoint.
      let read = start;
      const records = format === "avro" ? avroRecords(path) : jsonlRecords(path);
      let batch: RawRecord[] = [];
      let index = 0;
      const flush = () => {
        const records = batch;
        batch = [];
        const end = read += records.length;
        return {
          records,
          ack: () => {
            writeCheckpoint(checkpointFile, path, { fingerprint, done: end }, durability);
            return Promise.resolve();
          },
        };
      };
      for await (const value of records) {
        if (index++ < start) continue;
        batch.push({
          stream: config.stream,
          value,
          format: format === "avro" ? "avro" : "json",
          position: { kind: "file", path, line: index },
        });
        if (batch.length >= config.batch_size) {
          yield flush();
          if (signal.aborted) return;
        }
      }
      if (batch.length > 0) yield flush();
    },
    check: async () => {
      await Deno.stat(path).catch(() => {
        throw new UserError(`input file "${path}" does not exist`);
      });
    },
    close: () => Promise.resolve(),
  };
}

/** The lines of a file as raw bytes (not text: invalid UTF-8 must reach the decoder intact). */
async function* jsonlRecords(path: string): AsyncGenerator<Uint8Array> {
  using file = await Deno.open(path);
  let carry = new Uint8Array(0);
  for await (const chunk of file.readable) {
    const data = carry.length ? concat(carry, chunk) : chunk;
    let from = 0;
    for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, from)) {
      const line = data.subarray(from, data[i - 1] === 13 ? i - 1 : i);
      from = i + 1;
      if (!isBlank(line)) yield line.slice();
    }
    carry = data.slice(from);
  }
  if (!isBlank(carry)) yield carry;
}

/** The records of an Avro container file, still Avro-encoded (decoded later, like Kafka values). */
async function* avroRecords(path: string): AsyncGenerator<Uint8Array> {
  const decoder = avro.createFileDecoder(path, { noDecode: true });
  for await (const record of decoder as AsyncIterable<Uint8Array>) {
    yield new Uint8Array(record);
  }
}

function isBlank(line: Uint8Array): boolean {
  for (const b of line) if (b !== 32 && b !== 9 && b !== 13) return false;
  return true;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

async function fingerprintOf(path: string): Promise<string> {
  try {
    using file = await Deno.open(path);
    const head = new Uint8Array(1024);
    const n = (await file.read(head)) ?? 0;
    return sha256(Array.from(head.subarray(0, n), (b) => b.toString(16)).join(""));
  } catch {
    throw new UserError(`input file "${path}" cannot be read`);
  }
}

function readCheckpoints(file: string): Record<string, Checkpoint> {
  try {
    return JSON.parse(Deno.readTextFileSync(file));
  } catch {
    return {};
  }
}

/**
 * Atomic replace (write then rename), so a kill never leaves a half-written checkpoint; fsynced
 * when the durability is `power_loss`.
 */
function writeCheckpoint(
  file: string,
  path: string,
  checkpoint: Checkpoint,
  durability?: Durability,
): void {
  const all = readCheckpoints(file);
  all[path] = checkpoint;
  replaceFileSync(file, JSON.stringify(all, null, 2), durability);
}
