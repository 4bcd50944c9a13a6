/**
 * Dead-letter file (embedded target): one JSON object per line, appended per batch. An append is
 * whole or nothing (a short write on a full disk is continued, a failed one cut off again, and
 * the run stops with "disk full writing <file>"), and it is fsynced first when the durability is
 * `power_loss`; either way before the batch is acknowledged.
 *
 * Exactly once, like the Kafka queue's transaction: letters are written before the source is
 * acknowledged, so a crash in between replays the batch and would append its letters again. The
 * file therefore remembers what it holds (`letterId`: a letter is its source position, payload and
 * redrive round) and skips a letter it already has. A crash in the middle of an append leaves a
 * partial last line; it is cut off when the file is opened (its batch was not acknowledged and is
 * written again).
 * @module
 */
import { dirname, resolve } from "node:path";
import type { ComponentDef, DeadLetterQueue } from "../core/component.ts";
import { appendAll } from "../core/durable.ts";
import {
  decodeLine,
  encodeLine,
  fileQueueSchema as schema,
  letterId,
} from "../dead_letters/mod.ts";

export { schema };

export const file: ComponentDef<typeof schema, DeadLetterQueue> = {
  type: "file",
  schema,
  async create(config, ctx) {
    const path = resolve(ctx.stateDir, config.path);
    Deno.mkdirSync(dirname(path), { recursive: true });
    const held = await open(path);
    const queue: DeadLetterQueue = {
      async write(letters) {
        const fresh = letters.filter((l) => !held.has(letterId(l)));
        if (fresh.length === 0) return;
        const text = fresh.map(encodeLine).join("");
        await appendAll(path, new TextEncoder().encode(text), ctx.durability);
        for (const l of fresh) held.add(letterId(l));
      },
      check: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    return queue;
  },
};

/** Cut a partial last line, and return the ids of the letters the file holds. */
async function open(path: string): Promise<Set<string>> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Set();
    throw error;
  }
  const end = bytes.lastIndexOf(10) + 1;
  if (end < bytes.length) await Deno.truncate(path, end);
  const held = new Set<string>();
  for (const line of new TextDecoder().decode(bytes.subarray(0, end)).split("\n")) {
    // Not a letter (edited by hand?): it stays, and matches nothing.
    const letter = line.trim() ? decodeLine(line) : undefined;
    if (letter) held.add(letterId(letter));
  }
  return held;
}
