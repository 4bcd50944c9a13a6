/**
 * Runs the config fuzz cases in a worker, so that the test can tell a hang (no answer from the
 * worker) from a slow case, and stop it. Each case mutates one file of a private copy of the spec,
 * loads the spec with `loadSpec()`, reports the outcome and restores the file.
 * @module
 */
/// <reference lib="deno.worker" />
import { join } from "node:path";
import { type CompiledSpec, loadSpec } from "../../src/compiler/mod.ts";
import { mutate, prng } from "./_mutate.ts";

export interface FuzzRequest {
  dir: string;
  seed: number;
  cases: number;
  /** Files that may be mutated, relative to `dir`; the first is the spec. */
  files: string[];
  /** Cases whose mutated bytes come back too (for the CLI sample). */
  keep: number[];
}

export type FuzzMessage =
  | { type: "start"; i: number; file: string; steps: string[] }
  | {
    type: "done";
    i: number;
    file: string;
    steps: string[];
    valid: boolean;
    errors: { file: string; line: number; column: number; path: string; message: string }[];
    threw?: string;
    /** For a valid spec: what is inconsistent in it (it would fail at run time). */
    inconsistent?: string[];
    /** Line count of every file as loaded, by the name errors use. */
    lines: Record<string, number>;
    bytes?: Uint8Array;
  }
  | { type: "ready" }
  | { type: "end" };

/** What a compiled spec gets wrong: everything declared must be compiled and resolvable. */
function inconsistencies(c: CompiledSpec): string[] {
  const out: string[] = [];
  const s = c.spec;
  if (!Object.hasOwn(s.targets, s.default_target)) out.push(`default_target ${s.default_target}`);
  if (c.streams.size !== Object.keys(s.streams).length) out.push("a stream is not compiled");
  if (c.entities.length !== Object.keys(s.entities).length) out.push("an entity is not compiled");
  if (c.relationships.length !== s.relationships.length) out.push("a relationship is lost");
  const labels = new Set(c.entities.map((e) => e.label));
  for (const e of c.entities) if (!c.streams.has(e.stream)) out.push(`${e.label}: no stream`);
  for (const r of c.relationships) {
    if (!labels.has(r.from.label) || !labels.has(r.to.label)) out.push(`${r.type}: endpoint`);
  }
  if (c.rules.length !== c.ruleSpecs.length) out.push("a rule is not compiled");
  for (const r of c.rules) {
    if (!labels.has(r.left) || !labels.has(r.right)) out.push(`rule ${r.id}: entity`);
  }
  for (const st of c.streams.values()) {
    if (st.eventTypes.length === 0) out.push(`stream ${st.name}: no event types`);
  }
  return out;
}

const count = (bytes: Uint8Array) => bytes.reduce((n, b) => n + (b === 10 ? 1 : 0), 1);

self.onmessage = async (e: MessageEvent<FuzzRequest>) => {
  const { dir, seed, cases, files, keep } = e.data;
  const originals = new Map(files.map((f) => [f, Deno.readFileSync(join(dir, f))]));
  const rng = prng(seed);
  const post = (m: FuzzMessage) => self.postMessage(m);
  for (let i = 0; i < cases; i++) {
    const file = rng() < 0.6 ? files[0] : files[1 + Math.floor(rng() * (files.length - 1))];
    const original = originals.get(file)!;
    const m = mutate(new TextDecoder().decode(original), rng);
    post({ type: "start", i, file, steps: m.steps });
    const lines: Record<string, number> = {};
    for (const [f, bytes] of originals) lines[join(dir, f)] = count(f === file ? m.bytes : bytes);
    Deno.writeFileSync(join(dir, file), m.bytes);
    try {
      const r = await loadSpec(join(dir, files[0]), () => undefined);
      post({
        type: "done",
        i,
        file,
        steps: m.steps,
        valid: r.spec !== undefined,
        errors: r.errors,
        ...(r.spec ? { inconsistent: inconsistencies(r.spec) } : {}),
        lines,
        ...(keep.includes(i) ? { bytes: m.bytes } : {}),
      });
    } catch (error) {
      post({
        type: "done",
        i,
        file,
        steps: m.steps,
        valid: false,
        errors: [],
        threw: error instanceof Error ? error.stack ?? error.message : String(error),
        lines,
      });
    } finally {
      Deno.writeFileSync(join(dir, file), original);
    }
  }
  post({ type: "end" });
};

// Loading (and type-checking) this module can take long on a loaded machine: the hang watch starts
// only now.
self.postMessage({ type: "ready" } satisfies FuzzMessage);
