/**
 * Poison input on the embedded target: the corpus (`tests/poison/cases.ts`) interleaved with the
 * bundled samples, run through the real pipeline (file source → SQLite graph and metrics → DLQ
 * file). Each malformed case must be dead-lettered with its category and reason, the graph must be
 * exactly the graph of the same run without the poison (the valid events are processed normally,
 * no trace of the bad ones), and the unusual valid values must come back byte for byte.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { DatabaseSync } from "node:sqlite";
import { loadSpec } from "../src/compiler/mod.ts";
import { compile, run } from "../src/runtime/mod.ts";
import type { DeadLetter } from "../src/core/types.ts";
import { KEEP_BYTES } from "../src/sources/file.ts";
import { BAD, CASES, lineBytes, OK, POISON, type PoisonCase, VALID } from "./poison/cases.ts";

const root = new URL("..", import.meta.url).pathname;
const { spec } = await loadSpec(join(root, "pipeline.yaml"), () => undefined);
if (!spec) throw new Error("pipeline.yaml does not load");

/** The samples' lines as bytes. */
const samples = new Uint8Array(await Deno.readFile(join(root, "samples/events.jsonl")));
const sampleLines: Uint8Array[] = [];
for (let from = 0, i = samples.indexOf(10); i !== -1; from = i + 1, i = samples.indexOf(10, from)) {
  sampleLines.push(samples.subarray(from, i));
}

/**
 * The samples with `cases` interleaved: case k after sample line 3 + 5k (poison and valid cases
 * alternate through the file). Returns the file and the line number of each case.
 */
async function interleaved(dir: string, name: string, cases: PoisonCase[]) {
  const at = new Map<PoisonCase, number>();
  const chunks: Uint8Array[] = [];
  const push = (bytes: Uint8Array) => chunks.push(bytes, new Uint8Array([10])) / 2;
  for (const [i, bytes] of sampleLines.entries()) {
    push(bytes);
    // Slots are fixed by the case's index in CASES, so both files place the valid cases alike.
    const k = (i - 3) / 5;
    if (Number.isInteger(k) && cases.includes(CASES[k])) {
      at.set(CASES[k], push(lineBytes(CASES[k])));
    }
  }
  assert.equal(at.size, cases.length, "every case placed");
  const file = join(dir, name);
  await Deno.writeFile(file, Buffer.concat(chunks));
  return { file, at };
}

async function runOn(file: string, state: string) {
  const p = await compile(spec!, { input: file, stateDir: state });
  try {
    return await run(p);
  } finally {
    await p.close();
  }
}

/** Current beliefs of the graph, without system time (it differs between runs). */
function graph(state: string) {
  const db = new DatabaseSync(join(state, "graph.db"), { readOnly: true });
  try {
    return db.prepare(
      `SELECT kind, id, iteration_id, label, key, from_id, to_id, props, valid_from, valid_to
       FROM versions WHERE superseded_at IS NULL ORDER BY kind, id, valid_from`,
    ).all();
  } finally {
    db.close();
  }
}

function letters(state: string): DeadLetter[] {
  const text = Deno.readTextFileSync(join(state, "dlq.jsonl"));
  return text.trim().split("\n").map((l) => JSON.parse(l));
}

Deno.test("poison corpus: dead-lettered with category and reason, valid events unaffected, unusual values verbatim", async () => {
  assert.ok(POISON.length >= 30, `${POISON.length} malformed cases`);
  const dir = await Deno.makeTempDir({ prefix: "ics-poison-" });
  try {
    const clean = await interleaved(dir, "clean.jsonl", VALID);
    const dirty = await interleaved(dir, "poisoned.jsonl", CASES);
    await runOn(clean.file, join(dir, "clean"));
    await runOn(dirty.file, join(dir, "poisoned"));

    // Every malformed case is dead-lettered once, at its line, with its category and reason, and
    // the original bytes are kept.
    const dead = letters(join(dir, "poisoned"));
    const byLine = new Map(dead.map((d) => [(d.position as { line: number }).line, d]));
    for (const c of POISON) {
      const line = dirty.at.get(c)!;
      const d = byLine.get(line);
      assert.ok(d, `${c.name} (line ${line}) is not in the DLQ`);
      assert.ok("category" in c.expect);
      assert.equal(d.category, c.expect.category, `${c.name}: ${d.reason}`);
      assert.match(d.reason, c.expect.reason, c.name);
      const payload = d.payload_encoding === "base64"
        ? new Uint8Array(Buffer.from(d.payload, "base64"))
        : new TextEncoder().encode(d.payload);
      // Of a line over max_event_bytes the file source keeps only the start (it never holds it).
      const original = lineBytes(c);
      assert.deepEqual(
        payload,
        original.length > spec!.spec.validation.max_event_bytes
          ? original.subarray(0, KEEP_BYTES)
          : original,
        `${c.name}: original bytes in the letter`,
      );
    }
    // A reason is one printable line, whatever the input held.
    for (const d of dead) {
      // deno-lint-ignore no-control-regex
      assert.doesNotMatch(d.reason, /[\u0000-\u001f\u007f-\u009f]/, d.reason);
    }
    // Besides the corpus, only the samples' own malformed lines, as without the poison.
    const cleanDead = letters(join(dir, "clean"));
    assert.equal(dead.length, cleanDead.length + POISON.length);
    assert.deepEqual(
      dead.filter((d) =>
        !POISON.some((c) => dirty.at.get(c) === (d.position as { line: number }).line)
      )
        .map((d) => [d.category, d.reason, d.payload]),
      cleanDead.map((d) => [d.category, d.reason, d.payload]),
    );

    // The graph is the graph of the run without poison: the valid events around each case were
    // processed normally, and nothing of the bad ones was written.
    const before = graph(join(dir, "clean"));
    const after = graph(join(dir, "poisoned"));
    assert.ok(before.length > 300, `${before.length} versions`);
    assert.deepEqual(after, before);
    for (const name of ["clean", "poisoned"]) {
      const db = new DatabaseSync(join(dir, name, "graph.db"), { readOnly: true });
      try {
        // No poison id in any version or observation of the iteration the poison claimed.
        const trace = db.prepare(
          `SELECT count(*) AS n FROM versions WHERE iteration_id <> ? AND
             (key LIKE '%poison%' OR props LIKE '%poison%' OR id LIKE '%poison%' OR
              observations LIKE '%poison%')`,
        ).get(OK) as { n: number };
        assert.equal(trace.n, 0, `${name}: traces of poison outside ${OK}`);
        const claimed = db.prepare(`SELECT count(*) AS n FROM versions WHERE iteration_id = ?`)
          .get(BAD) as { n: number };
        assert.ok(claimed.n > 100, `the samples' ${BAD} is in the graph`);
      } finally {
        db.close();
      }
    }
    const metrics = (name: string) => {
      const db = new DatabaseSync(join(dir, name, "metrics.db"), { readOnly: true });
      try {
        return db.prepare(
          "SELECT iteration_id, event_key, stream, event_type, event_time FROM event_metrics " +
            "ORDER BY event_key",
        ).all();
      } finally {
        db.close();
      }
    };
    assert.deepEqual(metrics("poisoned"), metrics("clean"), "metric rows of valid events only");

    // Unusual but valid values come back byte for byte.
    const db = new DatabaseSync(join(dir, "poisoned", "graph.db"), { readOnly: true });
    try {
      const find = db.prepare(
        "SELECT key, props FROM nodes WHERE iteration_id = ? AND label = ? AND key = ?",
      );
      for (const c of VALID) {
        assert.ok("stored" in c.expect);
        const { label, key, props } = c.expect.stored;
        const row = find.get(OK, label, JSON.stringify(key)) as
          | { key: string; props: string }
          | undefined;
        assert.ok(row, `${c.name}: ${label} ${JSON.stringify(key).slice(0, 80)} is in the graph`);
        assert.deepEqual(JSON.parse(row.key), key, c.name);
        const stored = JSON.parse(row.props);
        for (const [name, value] of Object.entries(props)) {
          assert.equal(stored[name], value, `${c.name}: ${name}`);
          assert.deepEqual(
            Buffer.from(String(stored[name]), "utf8"),
            Buffer.from(String(value), "utf8"),
          );
        }
        if (c.name === "unknown-fields-dropped") assert.equal("extra" in stored, false);
      }
    } finally {
      db.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
