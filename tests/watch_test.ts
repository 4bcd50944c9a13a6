/**
 * `run --watch`: a rule change during a run is compiled and swapped in between batches (links
 * made after it carry the new policy hash); an invalid change is reported with its positioned
 * errors and the running policy stays.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { corpus, toJsonl } from "../bench/corpus.ts";
import { copy } from "./_copy.ts";

const root = new URL("..", import.meta.url).pathname;
const perms = ["run", "--allow-read", "--allow-write", "--allow-env", `${root}src/cli/main.ts`];

Deno.test("run --watch swaps in a changed policy and rejects an invalid one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-watch-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
  const input = join(dir, "events.jsonl");
  await Deno.writeTextFile(input, [...corpus({ iterations: 200, seed: 3 })].map(toJsonl).join(""));
  const state = join(dir, "state");
  const spec = join(dir, "pipeline.yaml");
  const child = new Deno.Command(Deno.execPath(), {
    args: [...perms, "run", "--watch", "--spec", spec, "--input", input, "--state", state],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const until = async (what: () => boolean, label: string) => {
    for (let i = 0; i < 3000 && !what(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(what(), `timed out waiting for ${label}; stderr:\n${stderr}`);
  };
  await until(() => {
    try {
      return Deno.statSync(join(state, "checkpoints.json")).isFile;
    } catch {
      return false;
    }
  }, "the first committed batch");

  const tags = join(dir, "rules/tags.yaml");
  const original = await Deno.readTextFile(tags);
  await Deno.writeTextFile(tags, original.replace("confidence: 0.8", "confidence: high"));
  await until(() => stderr.includes("keeps running"), "the invalid change to be rejected");
  assert.match(stderr, /rules\/tags\.yaml:\d+:\d+ {2}rules\[0\]\.confidence {2}/);

  await Deno.writeTextFile(tags, original.replace("confidence: 0.8", "confidence: 0.6"));
  await until(() => /policy \w+ → \w+/.test(stderr), "the new policy to go live");
  const status = await child.status;
  await reading;
  await child.stdout.cancel();
  assert.equal(status.code, 0, stderr);

  const out = await new Deno.Command(Deno.execPath(), {
    args: [...perms, "links", "--spec", spec, "--state", state],
    cwd: dir,
  }).output();
  const links = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  const [, oldPolicy, newPolicy] = /policy (\w+) → (\w+)/.exec(stderr)!;
  const first = links.filter((l) => l.from.iteration_id === "it-3-0001");
  const last = links.filter((l) => l.from.iteration_id === "it-3-0200");
  assert.ok(first.length > 0 && last.length > 0);
  assert.ok(
    first.every((l) => l.policy === oldPolicy),
    "links before the swap keep the old policy",
  );
  assert.ok(last.every((l) => l.policy === newPolicy), "links after the swap carry the new policy");
  const tagged = (ls: typeof links) =>
    ls.filter((l) => l.rules[0].rule === "scenario-contract-tag");
  assert.ok(tagged(first).every((l) => l.confidence === 0.8));
  assert.ok(tagged(last).length > 0 && tagged(last).every((l) => l.confidence === 0.6));
  await Deno.remove(dir, { recursive: true });
});
