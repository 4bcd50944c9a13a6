/**
 * `ics dlq redrive` on the embedded target (a JSON Lines dead-letter file). The samples leave six
 * dead letters (2 decode_error, 1 mapping_error, 3 schema_violation); a schema fix recovers one,
 * and the graph then equals a clean run of the fixed spec. Redriving twice doubles nothing; a
 * --category redrive leaves the other categories pending. (Kafka: tests/integration/.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { copy } from "./_copy.ts";
import { loadSpec } from "../src/compiler/mod.ts";
import { stateChecksum } from "../src/cli/checksum.ts";
import { capture } from "../src/cli/_capture.ts";
import { main } from "../src/cli/main.ts";

const root = new URL("..", import.meta.url).pathname;

/** `ics ...` in process, as src/cli/main.ts runs it (a command start costs a second or two). */
async function ics(...args: string[]) {
  const out = await capture({ main }, ...args);
  assert.equal(out.code, 0, `ics ${args.join(" ")}\n${out.stderr}`);
  return out.stdout;
}

/** What `ics checksum` prints. */
const checksum = async (specFile: string, state: string) =>
  stateChecksum((await loadSpec(specFile)).spec!, "local", state);

const metricRows = (state: string) => {
  const db = new DatabaseSync(join(state, "metrics.db"));
  try {
    return Number(db.prepare("SELECT count(*) AS n FROM event_metrics").get()!.n);
  } finally {
    db.close();
  }
};

async function edit(file: string, from: string, to: string) {
  const text = await Deno.readTextFile(file);
  assert.ok(text.includes(from), `${file} holds ${from}`);
  await Deno.writeTextFile(file, text.replace(from, to));
}

Deno.test("dlq redrive re-injects dead letters after a fix, reports them, and doubles nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-redrive-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
  const spec = join(dir, "pipeline.yaml");
  const state = join(dir, "state");
  const dlq = join(state, "dlq.jsonl");
  const letters = async () =>
    (await Deno.readTextFile(dlq)).trim().split("\n").map((l) => JSON.parse(l));
  const redrive = async (...args: string[]) =>
    JSON.parse(await ics("dlq", "redrive", "--spec", spec, "--state", state, "--json", ...args));
  await ics("run", "--spec", spec, "--state", state, "--quiet");
  assert.equal((await letters()).length, 6);
  const rows = metricRows(state);

  // Before any fix: a dry run predicts that every letter fails again, and changes nothing.
  const unfixed = await redrive("--dry-run");
  assert.deepEqual(unfixed.total, { redriven: 6, recovered: 0, failed: 6, duplicates: 0 });
  await assert.rejects(Deno.stat(`${dlq}.redrive.json`));

  // The schema fix: TASK_EXPLODED becomes a dde event type, mapped to a new entity.
  await edit(
    join(dir, "schemas/avro/dde_event.avsc"),
    `"QUALITY_GATE_CHECKED"`,
    `"QUALITY_GATE_CHECKED", "TASK_EXPLODED"`,
  );
  await edit(
    spec,
    "  TestRun:\n",
    "  Explosion:\n    stream: dde\n    when: { event_type: [TASK_EXPLODED] }\n" +
      "    key: [node_id]\n    properties: [status]\n  TestRun:\n",
  );
  assert.equal((await redrive("--dry-run")).total.recovered, 1);

  const report = await redrive();
  assert.equal(report.dry_run, false);
  assert.deepEqual(report.categories, {
    decode_error: { redriven: 2, recovered: 0, failed: 2, duplicates: 0 },
    mapping_error: { redriven: 1, recovered: 0, failed: 1, duplicates: 0 },
    schema_violation: { redriven: 3, recovered: 1, failed: 2, duplicates: 0 },
  });
  assert.deepEqual(
    report.failures.map((f: { position: string; was: string; category: string }) => [
      f.position.replace(/.*:/, ""),
      f.was,
      f.category,
    ]).sort(),
    [
      ["130", "schema_violation", "schema_violation"],
      ["24", "decode_error", "decode_error"],
      ["266", "mapping_error", "mapping_error"],
      ["281", "decode_error", "decode_error"],
      ["49", "schema_violation", "schema_violation"],
    ],
  );
  for (const f of report.failures) assert.ok(f.reason.length > 10, f.reason);
  // The letters that failed again are appended, counting their redrive, at their old position.
  const after = await letters();
  assert.equal(after.length, 11);
  assert.deepEqual(after.slice(6).map((l) => [l.position.line, l.redriven]).sort(), [
    [130, 1],
    [24, 1],
    [266, 1],
    [281, 1],
    [49, 1],
  ]);
  assert.equal(after[6].format, "json");

  // The recovered event is in the graph, exactly as a clean run of the fixed spec puts it.
  const redriven = await checksum(spec, state);
  const clean = join(dir, "clean");
  await ics("run", "--spec", spec, "--state", clean, "--quiet");
  assert.deepEqual(redriven, await checksum(spec, clean));
  assert.equal(redriven.nodes, 232);
  assert.equal(metricRows(state), rows + 1);

  // Again without a further fix: each original letter was redriven once; only the five that
  // failed again are pending, they fail again, and the graph and metrics stay as they are.
  const again = await redrive();
  assert.deepEqual(again.total, { redriven: 5, recovered: 0, failed: 5, duplicates: 0 });
  assert.deepEqual(await checksum(spec, state), redriven);
  assert.equal(metricRows(state), rows + 1);
  assert.equal((await letters()).filter((l) => l.redriven === 2).length, 5);

  // A mapping fix, redriven by category: the other categories stay pending.
  await edit(
    spec,
    "when: { event_type: [ARTIFACT_CREATED, ARTIFACT_VALIDATED] }",
    "when: { event_type: [ARTIFACT_VALIDATED] }",
  );
  const mapping = await redrive("--category", "mapping_error");
  assert.deepEqual(mapping.total, { redriven: 1, recovered: 1, failed: 0, duplicates: 0 });
  assert.equal(metricRows(state), rows + 2);
  assert.equal((await redrive("--category", "mapping_error")).total.redriven, 0);
  const rest = await redrive();
  assert.deepEqual(Object.keys(rest.categories).sort(), ["decode_error", "schema_violation"]);
  assert.equal(rest.total.redriven, 4);
  assert.equal(rest.total.recovered, 0);

  const text = await ics("dlq", "redrive", "--spec", spec, "--state", state, "--dry-run");
  assert.match(text, /decode_error\s+2\s+0\s+2\s+0/);
  assert.match(text, /samples\/events\.jsonl:24: decode_error: payload is not valid JSON/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dlq redrive: usage errors are one line", async () => {
  const run = (...args: string[]) => capture({ main }, ...args);
  const bad = await run("dlq", "redrive", "--category", "oops");
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /^ics dlq: --category "oops" is not one of decode_error, /,
  );
  const none = await run("dlq");
  assert.equal(none.code, 2);
  assert.match(none.stderr, /missing command; commands: redrive/);
});
