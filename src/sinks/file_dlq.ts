/**
 * Dead-letter file (embedded target): one JSON object per line, appended and synced per batch.
 * @module
 */
import { z } from "zod";
import { dirname, resolve } from "node:path";
import type { ComponentDef, DeadLetterQueue } from "../core/component.ts";

export const schema = z.strictObject({
  type: z.literal("file"),
  path: z.string().min(1).default("dlq.jsonl").describe(
    "JSON Lines file, relative to the state folder.",
  ),
}).describe("Append dead letters to a local JSON Lines file.");

export const file: ComponentDef<typeof schema, DeadLetterQueue> = {
  type: "file",
  schema,
  create(config, ctx) {
    const path = resolve(ctx.stateDir, config.path);
    Deno.mkdirSync(dirname(path), { recursive: true });
    const queue: DeadLetterQueue = {
      async write(letters) {
        if (letters.length === 0) return;
        const text = letters.map((l) => JSON.stringify(l) + "\n").join("");
        using f = await Deno.open(path, { append: true, create: true });
        await f.write(new TextEncoder().encode(text));
        await f.sync();
      },
      check: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    return Promise.resolve(queue);
  },
};
