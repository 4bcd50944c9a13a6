import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import { compile, run } from "../runtime/mod.ts";
import { stateChecksum } from "../cli/checksum.ts";
import { canonicalJson } from "./checksum.ts";

const root = new URL("../..", import.meta.url).pathname;

/** Run the bundled pipeline on some lines of the samples into a fresh state folder. */
async function runOn(lines: string[]): Promise<string> {
  const state = await Deno.makeTempDir({ prefix: "ics-checksum-" });
  const input = join(state, "events.jsonl");
  await Deno.writeTextFile(input, lines.join("\n") + "\n");
  const { spec } = await loadSpec(join(root, "pipeline.yaml"));
  const p = await compile(spec!, { stateDir: state, input });
  try {
    await run(p);
  } finally {
    await p.close();
  }
  return state;
}

async function sumOf(state: string, options = {}) {
  const { spec } = await loadSpec(join(root, "pipeline.yaml"));
  return await stateChecksum(spec!, undefined, state, options);
}

const samples = (await Deno.readTextFile(join(root, "samples/events.jsonl"))).trim().split("\n");

Deno.test("checksum: arrival order and system time do not matter, facts do", async () => {
  const forward = await runOn(samples);
  const backward = await runOn([...samples].reverse());
  const a = await sumOf(forward);
  assert.deepEqual(
    { ...a, sha256: "" },
    { sha256: "", iterations: 3, nodes: 231, relationships: 116, links: 65 },
  );
  // Reversed input: late events everywhere, other versions closed on the way, same beliefs.
  assert.equal((await sumOf(backward)).sha256, a.sha256);

  const db = new DatabaseSync(join(forward, "graph.db"));
  try {
    // System time is not part of the graph's content.
    db.exec("UPDATE versions SET observed_at = observed_at + 1");
    assert.equal((await sumOf(forward)).sha256, a.sha256);
    // One link's confidence is.
    const link = db.prepare(
      "SELECT version_id, props FROM versions WHERE kind = 'link' AND superseded_at IS NULL LIMIT 1",
    ).get()!;
    const props = JSON.parse(link.props as string);
    db.prepare("UPDATE versions SET props = ? WHERE version_id = ?")
      .run(JSON.stringify({ ...props, confidence: props.confidence - 0.01 }), link.version_id);
    const changed = await sumOf(forward);
    assert.notEqual(changed.sha256, a.sha256);
    // So is valid time.
    db.exec("UPDATE versions SET valid_from = valid_from - 1 WHERE kind = 'node' AND rowid = 1");
    assert.notEqual((await sumOf(forward)).sha256, changed.sha256);
  } finally {
    db.close();
  }
  // A subset by prefix or by id.
  const one = await sumOf(backward, { prefix: "it-0001" });
  assert.equal(one.iterations, 1);
  assert.deepEqual(await sumOf(backward, { iterations: ["it-0001"] }), one);
});

Deno.test("canonicalJson sorts keys at every depth and keeps array order", () => {
  assert.equal(
    canonicalJson({ b: 1, a: { d: [2, 1], c: null } }),
    '{"a":{"c":null,"d":[2,1]},"b":1}',
  );
});
