/**
 * The input files a spec names besides its rule globs (Avro schemas, quality labels and corpus,
 * file sources), checked against the spec's confinement (see `_files.ts`) before anything reads
 * them.
 * @module
 */
import { resolve } from "node:path";
import type { PipelineSpec } from "./_schema.ts";
import { type Confinement, outside } from "./_files.ts";
import { MAX_FILE_BYTES } from "../yaml/mod.ts";

type At = (path: PropertyKey[], message: string) => void;

/**
 * Reports every named file that lies outside the allowed folders (and every Avro schema over the
 * size limit); returns the streams whose schema must not be read.
 */
export async function checkNamedFiles(
  spec: PipelineSpec,
  dir: string,
  confined: Confinement,
  at: At,
): Promise<Set<string>> {
  const refused = new Set<string>();
  const check = async (where: PropertyKey[], what: string, name: string) => {
    const problem = await outside(resolve(dir, name), name, confined);
    if (problem) at(where, `${what} ${problem}`);
    return problem === undefined;
  };
  for (const [stream, s] of Object.entries(spec.streams)) {
    const where = ["streams", stream, "schema"];
    if (!(await check(where, "schema file", s.schema))) refused.add(stream);
    else if (
      ((await Deno.stat(resolve(dir, s.schema)).catch(() => undefined))?.size ?? 0) > MAX_FILE_BYTES
    ) {
      at(where, `schema file "${s.schema}" is larger than 1 MiB (${MAX_FILE_BYTES} bytes)`);
      refused.add(stream);
    }
  }
  if (spec.quality) {
    await check(["quality", "labels"], "labels file", spec.quality.labels);
    if (spec.quality.corpus) await check(["quality", "corpus"], "corpus", spec.quality.corpus);
  }
  for (const [name, target] of Object.entries(spec.targets)) {
    const source = target.source as { type: string; path?: string };
    if (source.type === "file" && source.path) {
      await check(["targets", name, "source", "path"], "input file", source.path);
    }
  }
  return refused;
}

/**
 * The spec without the streams whose schema must not be read, nor their per-stream settings, so
 * that compiling it neither reads those files nor reports their settings as unknown streams.
 * Entities of those streams are then skipped as for a schema that failed to load.
 */
export function withoutStreams(spec: PipelineSpec, refused: Set<string>): PipelineSpec {
  if (refused.size === 0) return spec;
  const keep = <T>(record: Record<string, T>) =>
    Object.fromEntries(Object.entries(record).filter(([name]) => !refused.has(name)));
  return {
    ...spec,
    streams: keep(spec.streams),
    dedup: { ...spec.dedup, key: keep(spec.dedup.key) },
    validation: { ...spec.validation, path_fields: keep(spec.validation.path_fields) },
  };
}
