/**
 * Re-correlation on the embedded target: a policy change applied to a stored graph closes,
 * rescores and adds links without deleting anything, and as-of queries still show the old links.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_copy.ts";

const root = new URL("..", import.meta.url).pathname;

async function ics(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "src/cli/main.ts", ...args],
    cwd: root,
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 0, text(out.stderr));
  return text(out.stdout);
}

const links = async (...args: string[]) =>
  (await ics("links", ...args)).trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));

Deno.test("recorrelate applies a changed policy to the stored graph, keeping history", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-recorrelate-" });
  const state = join(dir, "state");
  await ics("run", "--state", state);
  const before = await links("--state", state);
  const beforeTime = Date.now();
  await new Promise((r) => setTimeout(r, 5));

  // A new policy: tags are weaker evidence, and the heuristic rule file is gone.
  const spec = join(dir, "spec");
  await copy(root, spec, ["pipeline.yaml", "rules", "schemas", "samples"]);
  const tags = join(spec, "rules/tags.yaml");
  await Deno.writeTextFile(
    tags,
    (await Deno.readTextFile(tags)).replace("confidence: 0.8", "confidence: 0.6"),
  );
  await Deno.remove(join(spec, "rules/heuristics.yaml"));
  const some = ["--iteration", "it-0001", "--iteration", "it-0003", "--dry-run"];
  const dry = await ics(
    "recorrelate",
    "--spec",
    join(spec, "pipeline.yaml"),
    "--state",
    state,
    ...some,
  );
  assert.match(dry, /would recorrelate 2 iteration\(s\)/);
  const out = await ics("recorrelate", "--spec", join(spec, "pipeline.yaml"), "--state", state);
  assert.match(out, /recorrelated 3 iteration\(s\)/);

  const after = await links("--spec", join(spec, "pipeline.yaml"), "--state", state);
  const onlyHeuristic = before.filter((l) =>
    l.rules.every((r: { rule: string }) => r.rule === "task-scenario-heuristic")
  );
  assert.ok(onlyHeuristic.length > 0);
  assert.equal(after.length, before.length - onlyHeuristic.length);
  const policies = new Set(after.map((l) => l.policy));
  assert.equal(policies.size, 1);
  assert.notEqual([...policies][0], before[0].policy);
  for (const l of after.filter((l) => l.rules[0].rule === "scenario-contract-tag")) {
    assert.equal(l.confidence, 0.6);
  }
  // Nothing deleted: as believed before the recorrelation, the old links are all still there.
  // (superseded_at is a fact about now, so it is left out of the comparison.)
  const strip = (ls: Record<string, unknown>[]) => ls.map(({ superseded_at: _, ...l }) => l);
  const asBefore = await links("--state", state, "--known-at", String(beforeTime));
  assert.deepEqual(strip(asBefore), strip(before));

  // Recorrelating again under the same policy changes nothing.
  const again = await ics("recorrelate", "--spec", join(spec, "pipeline.yaml"), "--state", state);
  assert.match(again, /0 link versions opened, 0 closed/);
  await Deno.remove(dir, { recursive: true });
});
