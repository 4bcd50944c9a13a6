import assert from "node:assert/strict";
import { loadSpec } from "../compiler/mod.ts";
import { evaluate, pairKey, readJsonl, refText } from "./evaluate.ts";

const root = new URL("../..", import.meta.url).pathname;
const { spec } = await loadSpec(`${root}pipeline.yaml`);
const samples = await readJsonl(`${root}samples/events.jsonl`);

/** The golden form of tests/e2e_test.ts: pair → "confidence rules". */
function summarise(links: Awaited<ReturnType<typeof evaluate>>["links"]) {
  return Object.fromEntries(
    links.map((l) => [
      [`${l.iteration_id} ${refText(l.from)}`, `${l.iteration_id} ${refText(l.to)}`].sort()
        .join(" ~ "),
      `${l.confidence} ${l.rules.map((r) => r.rule).join(",")}`,
    ]).sort(([a], [b]) => a.localeCompare(b)),
  );
}

Deno.test("evaluate() finds exactly the links ics run stores for the samples", async () => {
  const result = await evaluate(spec!, samples);
  const golden = JSON.parse(await Deno.readTextFile(`${root}testdata/samples_links.json`));
  assert.deepEqual(summarise(result.links), golden);
  assert.ok(result.links.every((l) => l.policy === spec!.policy));
});

Deno.test("evaluate() dead-letters the malformed sample lines with their categories", async () => {
  const result = await evaluate(spec!, samples);
  assert.deepEqual(
    result.deadLetters.map((d) => [d.position.kind === "file" && d.position.line, d.category]),
    [
      [24, "decode_error"],
      [49, "schema_violation"],
      [130, "schema_violation"],
      [136, "schema_violation"],
      [266, "mapping_error"],
      [281, "decode_error"],
    ],
  );
  assert.equal(result.telemetry.get("dedup_dropped_total"), 10);
});

Deno.test("evaluate() gives the same links whatever the batch size and arrival order", async () => {
  const expected = summarise((await evaluate(spec!, samples)).links);
  const oneByOne = await evaluate(spec!, samples, { batchSize: 1 });
  assert.deepEqual(summarise(oneByOne.links), expected);
  const reversed = await evaluate(spec!, [...samples].reverse(), { batchSize: 7 });
  assert.deepEqual(summarise(reversed.links), expected);
});

Deno.test("evaluate() takes event objects and orients links by the rule's left side", async () => {
  const common = { iteration_id: "it-x", producer: "test" };
  const result = await evaluate(spec!, [
    {
      ...common,
      event_id: "1",
      event_type: "MODULE_ANALYZED",
      timestamp: Date.UTC(2025, 0, 1),
      analysis_id: "an",
      module_name: "api.user_service",
    },
    {
      ...common,
      event_id: "2",
      event_type: "ARTIFACT_CREATED",
      timestamp: Date.UTC(2025, 0, 1, 0, 1),
      workflow_id: "wf",
      artifact_path: "src/api/user_service.py",
    },
  ]);
  assert.equal(result.links.length, 1);
  const [link] = result.links;
  assert.equal(refText(link.from), "Artifact:src/api/user_service.py");
  assert.equal(refText(link.to), "Module:api.user_service");
  assert.equal(link.iteration_id, "it-x");
  assert.deepEqual(link.rules.map((r) => r.rule), ["artifact-module-name"]);
  assert.equal(result.entities.size, 2);
  assert.equal(result.deadLetters.length, 0);
});

Deno.test("pairKey() ignores orientation but not the iteration", () => {
  const a = { label: "A", iteration_id: "i1", key: ["x"] };
  const b = { label: "B", iteration_id: "i1", key: ["y"] };
  assert.equal(pairKey(a, b), pairKey(b, a));
  assert.notEqual(pairKey(a, b), pairKey(a, { ...b, iteration_id: "i2" }));
});

Deno.test("readJsonl() keeps raw bytes per line and skips blank lines", async () => {
  const file = await Deno.makeTempFile({ suffix: ".jsonl" });
  await Deno.writeFile(
    file,
    new Uint8Array([...new TextEncoder().encode('{"a":1}\r\n\n  \n'), 0xff, 10]),
  );
  const lines = await readJsonl(file);
  assert.deepEqual(lines.map((l) => [...l]), [[...new TextEncoder().encode('{"a":1}')], [0xff]]);
  await Deno.remove(file);
});
