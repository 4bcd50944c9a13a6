/**
 * Run a corpus through the embedded target in process (compile + run from src/runtime, a file
 * source over a temporary JSON Lines file, a temporary state folder) and read back what came of
 * it: the dead letters, which lines the sinks hold, the dedup counters and the believed graph (the
 * graph store's query API).
 * @module
 */
import { join } from "node:path";
import type { CompiledSpec } from "../../src/compiler/mod.ts";
import { compile, run } from "../../src/runtime/mod.ts";
import { COUNTERS } from "../../src/telemetry/mod.ts";
import type { DeadLetter, Version } from "../../src/core/types.ts";
import { type Checksum, checksum } from "../../src/graph/checksum.ts";
import { type Corpus, jsonl } from "./_render.ts";

/**
 * Where runs keep their state: memory when the machine has a tmpfs (every batch syncs its files,
 * and a disk's syncs would make each run, and so shrinking, ten times slower).
 */
const scratch = Deno.env.get("ICS_CONFORMANCE_TMP") ??
  (isDirectory("/dev/shm") ? "/dev/shm" : undefined);

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

export interface Observation {
  dead: DeadLetter[];
  /** Line numbers (1-based) of the events every sink holds. */
  processed: Set<number>;
  /** `dedup_dropped_total`. */
  dropped: number;
  /** `dedup_collisions_total`, where the runtime counts key hits whose content differs. */
  collisions?: number;
  /** Believed versions (nodes, relationships, links) of the corpus's iterations. */
  versions: Version[];
  checksum: Checksum;
}

export async function observe(
  spec: CompiledSpec,
  corpus: Corpus,
  options: { keep?: string } = {},
): Promise<Observation> {
  const dir = options.keep ?? await Deno.makeTempDir({ prefix: "ics-conformance-", dir: scratch });
  const input = join(dir, "events.jsonl");
  await Deno.writeTextFile(input, jsonl(corpus));
  const pipeline = await compile(spec, {
    stateDir: join(dir, "state"),
    input,
    replace: {
      source: { type: "file", path: input, format: "jsonl", batch_size: corpus.batchSize },
    },
  });
  const dead: DeadLetter[] = [];
  const processed = new Set<number>();
  try {
    const { telemetry } = await run(pipeline, undefined, {
      written(batch) {
        dead.push(...batch.dead);
        for (const e of batch.events) {
          if (e.record.position.kind === "file") processed.add(e.record.position.line);
        }
      },
    });
    const versions: Version[] = [];
    for (const iteration_id of corpus.iterations) {
      versions.push(...await pipeline.graph.query({ iteration_id }));
    }
    return {
      dead,
      processed,
      dropped: telemetry.get("dedup_dropped_total"),
      // Counted once the runtime verifies dedup hits by content (issue #10); absent before.
      collisions: "dedup_collisions_total" in COUNTERS
        ? (telemetry.get.bind(telemetry) as (name: string) => number)("dedup_collisions_total")
        : undefined,
      versions,
      checksum: await checksum(pipeline.graph), // a fresh store: this corpus only
    };
  } finally {
    await pipeline.close();
    if (!options.keep) await Deno.remove(dir, { recursive: true });
  }
}
