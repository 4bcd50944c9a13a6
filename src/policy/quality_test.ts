import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import { loadYaml, validate } from "../yaml/mod.ts";
import { evaluate, readJsonl } from "./evaluate.ts";
import { counts, loadLabels, measure, qualitySchema } from "./quality.ts";
import { qualityMarkdown } from "./_quality_render.ts";
import { copySpec, replaceOnce, ROOT } from "./_testing.ts";
import { labels as generatedLabels } from "../../bench/gen_labels.ts";

const { spec } = await loadSpec(join(ROOT, "pipeline.yaml"));
const samples = await readJsonl(join(ROOT, "samples/events.jsonl"));
const LABELS = join(ROOT, "rules/tests/labels.jsonl");
const entityLabels = spec!.entities.map((e) => e.label);

Deno.test("counts() gives precision, recall and F1, undefined without a denominator", () => {
  assert.deepEqual(counts(8, 2, 8, 5), {
    tp: 8,
    fp: 2,
    fn: 8,
    tn: 5,
    precision: 0.8,
    recall: 0.5,
    f1: 0.6154,
  });
  assert.deepEqual(counts(0, 0, 0, 3), {
    tp: 0,
    fp: 0,
    fn: 0,
    tn: 3,
    precision: null,
    recall: null,
    f1: null,
  });
  assert.equal(counts(0, 4, 2, 0).f1, 0);
});

Deno.test("the shipped labels are what bench/gen_labels.ts writes", async () => {
  const expected = generatedLabels().map((l) => JSON.stringify(l)).join("\n") + "\n";
  assert.equal(await Deno.readTextFile(LABELS), expected, "run bench/gen_labels.ts");
});

Deno.test("the shipped policy scores perfectly on the labelled samples, every rule covered", async () => {
  const { labels, errors } = await loadLabels(LABELS, entityLabels);
  assert.deepEqual(errors, []);
  const report = measure(spec!, await evaluate(spec!, samples), labels);
  assert.equal(report.pairs, 90);
  assert.equal(report.matches, 65);
  assert.deepEqual(
    [report.overall.precision, report.overall.recall, report.overall.f1],
    [1, 1, 1],
  );
  // Every rule has labelled matches it is meant to find, and finds them all.
  for (const r of report.by_rule) {
    assert.ok(r.expected > 0, `${r.rule} has no labelled match`);
    assert.equal(r.recall, 1, r.rule);
    assert.equal(r.precision, 1, r.rule);
  }
  assert.deepEqual(report.by_family.map((f) => f.family), [
    "cross_iteration",
    "explicit_id",
    "file_path_exact",
    "file_path_fuzzy",
    "heuristic",
    "tag",
  ]);
  // Near misses are labelled for every fuzzy kind: file paths, tags and heuristics.
  for (const family of ["file_path_fuzzy", "tag", "heuristic", "explicit_id"]) {
    assert.ok(report.by_family.find((f) => f.family === family)!.tn > 0, family);
  }
  assert.equal(report.unlabelled_links, 0);
  assert.deepEqual(report.unresolved, []);
  // Heuristic links (≤ 0.5) are all right: under-confident, and the table says so.
  const low = report.bands.find((b) => b.from === 0.3)!;
  assert.deepEqual([low.links, low.observed_precision, low.gap! > 0.5], [24, 1, true]);
  const current = report.thresholds.find((t) => t.current)!;
  assert.deepEqual([current.min_confidence, current.tp, current.fp], [0.3, 65, 0]);
  assert.equal(report.thresholds.find((t) => t.min_confidence === 0.4)!.fn, 24);
  assert.ok(report.passed);
});

Deno.test("a policy that links near misses loses precision and fails its gates", async () => {
  const loose = await copySpec((file, text) =>
    file === "file_paths.yaml"
      ? replaceOnce(text, "threshold: 0.85 # user_service", "threshold: 0.5 # user_service")
      : text
  );
  try {
    const { labels } = await loadLabels(LABELS, entityLabels);
    const config = qualitySchema.parse({
      min_precision: 0.99,
      min_recall: 0.9,
      rules: { "artifact-module-name": { min_precision: 0.95 } },
      max_calibration_error: 0.2,
    });
    const report = measure(loose.spec, await evaluate(loose.spec, samples), labels, config);
    assert.deepEqual([report.overall.fp, report.overall.precision], [3, 0.9559]);
    assert.equal(report.by_rule.find((r) => r.rule === "artifact-module-name")!.precision, 0.8);
    assert.deepEqual(report.gates.map((g) => [g.gate, g.passed]), [
      ["precision ≥ 0.99", false],
      ["recall ≥ 0.9", true],
      ["artifact-module-name: precision ≥ 0.95", false],
      ["calibration error ≤ 0.2", false],
    ]);
    assert.equal(report.passed, false);
    const md = qualityMarkdown(report, { labels: "labels.jsonl", corpus: "events.jsonl" });
    assert.match(md, /\| \*\*overall\*\* \| 0\.956 \| 1\.000 \| 0\.978 \| 65 \| 3 \| 0 \| 22 \|/);
    assert.match(md, /- ✗ precision ≥ 0\.99 \(0\.956\)/);
    assert.match(
      md,
      /labels\.jsonl:\d+: `Artifact:it-0001:src\/api\/user_service\.py` ~ `Module:it-0001:src\/api\/user_services\.py` linked at 0\.35 \(artifact-module-name\) but labelled a non-match/,
    );
    assert.match(md, /\*\*Quality gates failed\.\*\*/);
  } finally {
    await loose.remove();
  }
});

Deno.test("loadLabels() reports each bad line with its position", async () => {
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  const pair = (l: string, match: boolean) =>
    JSON.stringify({
      left: { label: l, iteration_id: "it-1", key: "a" },
      right: { label: "Module", iteration_id: "it-1", key: "b" },
      match,
    });
  await Deno.writeTextFile(
    file,
    [
      pair("Artifact", true),
      "",
      pair("Artefact", true),
      '{"left": {"label": "Task", "iteration_id": "it-1", "key": "x"}, "right": {}, "match": "yes"}',
      pair("Artifact", false),
      '{"left": ',
    ].join("\n"),
  );
  const { errors, labels } = await loadLabels(file, entityLabels);
  assert.equal(labels.length, 0);
  const short = file.replace(Deno.cwd() + "/", "");
  assert.deepEqual(errors.map((e) => `${e.file}:${e.line}:${e.column} ${e.path} ${e.message}`), [
    `${short}:3:18 left.label "Artefact" is not an entity defined in entities (did you mean "Artifact"?)`,
    `${short}:4:65 right missing required key "label"`,
    `${short}:4:65 right missing required key "iteration_id"`,
    `${short}:4:65 right missing required key "key"`,
    `${short}:4:87 match expected true or false, got "yes"`,
    `${short}:5:1  this pair is labelled already at line 1 with the opposite match`,
    `${short}:6:10  Flow map must end with a }`,
  ]);
  await Deno.remove(file);
});

Deno.test("qualitySchema validates a spec's quality section with positions", () => {
  const loaded = loadYaml(
    "pipeline.yaml",
    "min_precison: 0.9\nmin_recall: 2\nrules: { a: { min_f1: 0.5 } }\n",
    () => undefined,
  );
  const { errors } = validate(qualitySchema, loaded);
  assert.deepEqual(errors.map((e) => `${e.line}:${e.column} ${e.path} ${e.message}`), [
    `1:1 min_precison unknown key "min_precison" (did you mean "min_precision"?)`,
    "2:13 min_recall must be at most 1, got 2",
  ]);
  const ok = qualitySchema.parse({});
  assert.equal(ok.labels, "rules/tests/labels.jsonl");
  assert.equal(ok.bands.length, 11);
});

Deno.test("loadLabels() refuses a FIFO or a folder at 1:1 instead of blocking on it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const fifo = join(dir, "labels.jsonl");
    assert.ok((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    for (const path of [fifo, dir]) {
      const { labels, errors } = await loadLabels(path, entityLabels);
      assert.deepEqual(labels, []);
      assert.equal(errors.length, 1);
      assert.equal(errors[0].message, "is not a file");
      assert.equal(errors[0].line, 1);
    }
    await assert.rejects(readJsonl(fifo), /fifo|labels\.jsonl/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
