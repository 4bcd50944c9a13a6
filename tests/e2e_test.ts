/**
 * End to end on the embedded target, through the CLI exactly as a user runs it: the bundled
 * samples must give exactly the expected links, dead letters and idempotent re-runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { expectedLinks, type Family, nearMisses, SAMPLE_PLANS } from "../bench/sample_plans.ts";

const root = new URL("..", import.meta.url).pathname;

async function ics(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "src/cli/main.ts", ...args],
    cwd: root,
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

interface LinkRow {
  from: { label: string; iteration_id: string; key: string[] };
  to: { label: string; iteration_id: string; key: string[] };
  confidence: number;
  rules: { rule: string; score: number }[];
  policy: string;
}

const ref = (e: LinkRow["from"]) => `${e.iteration_id} ${e.label}:${e.key.join("|")}`;
const pair = (a: string, b: string) => [a, b].sort().join(" ~ ");

async function links(state: string): Promise<LinkRow[]> {
  const out = await ics("links", "--state", state);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

/** The golden set: pair → "confidence rules" (reviewed by hand against samples/README.md). */
function summarise(rows: LinkRow[]): Record<string, string> {
  return Object.fromEntries(
    rows.map((r) => [
      pair(ref(r.from), ref(r.to)),
      `${r.confidence} ${r.rules.map((x) => x.rule).join(",")}`,
    ]).sort(([a], [b]) => a.localeCompare(b)),
  );
}

const FAMILY_RULES: Record<Family, string[]> = {
  explicit_id: ["scenario-contract-id", "scenario-task-node-id", "module-task-node-id"],
  file_path_exact: ["artifact-module-path"],
  file_path_fuzzy: ["artifact-module-name", "feature-artifact-stem"],
  tag: ["scenario-contract-tag"],
  heuristic: ["task-scenario-heuristic"],
};

Deno.test("run on the samples finds exactly the expected links, dead letters and duplicates", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-e2e-" });
  const run = await ics("run", "--state", state);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /events read\s+351 /);
  assert.match(run.stdout, /duplicates\s+10 dropped/);
  assert.match(
    run.stdout,
    /dead letters\s+6 \(decode_error 2, mapping_error 1, schema_violation 3\)/,
  );

  const rows = await links(state);
  const golden = JSON.parse(await Deno.readTextFile(join(root, "testdata/samples_links.json")));
  assert.deepEqual(summarise(rows), golden);

  // Every correlation family the samples plant is found by its rule; no near miss is linked.
  const byPair = new Map(rows.map((r) => [pair(ref(r.from), ref(r.to)), r]));
  for (const plan of SAMPLE_PLANS) {
    for (const e of expectedLinks(plan)) {
      const found = byPair.get(pair(`${e.iteration_id} ${e.left}`, `${e.iteration_id} ${e.right}`));
      assert.ok(found, `expected ${e.family} link ${e.left} ~ ${e.right} in ${e.iteration_id}`);
      assert.ok(
        found.rules.some((r) => FAMILY_RULES[e.family].includes(r.rule)),
        `${e.left} ~ ${e.right} is linked, but not by a ${e.family} rule`,
      );
    }
    for (const e of nearMisses(plan)) {
      const key = pair(`${e.iteration_id} ${e.left}`, `${e.iteration_id} ${e.right}`);
      assert.equal(byPair.has(key), false, `near miss ${key} must not be linked`);
    }
  }

  // Dead letters: each malformed line once, with its category, position and original payload.
  const dead = (await Deno.readTextFile(join(state, "dlq.jsonl"))).trim().split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    dead.map((d) => [d.position.line, d.category]),
    [
      [24, "decode_error"],
      [49, "schema_violation"],
      [130, "schema_violation"],
      [136, "schema_violation"],
      [266, "mapping_error"],
      [281, "decode_error"],
    ],
  );
  for (const d of dead) {
    assert.ok(d.reason.length > 10 && d.policy && d.time > 0, JSON.stringify(d));
  }
  assert.equal(dead.find((d) => d.position.line === 281).payload_encoding, "base64");
  await Deno.remove(state, { recursive: true });
});

Deno.test("a second run reads nothing new, and a replay from the start changes nothing", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-e2e-" });
  assert.equal((await ics("run", "--state", state)).code, 0);
  const history = async () =>
    JSON.stringify(JSON.parse((await ics("query", "--state", state, "--json")).stdout));
  const before = await links(state);
  const counts = await history();

  const again = await ics("run", "--state", state);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /Nothing new to read/);

  // Forget the source checkpoint (like a replay from the start): every event is processed again,
  // the in-memory dedup is empty, and still the graph does not change.
  await Deno.remove(join(state, "checkpoints.json"));
  const replay = await ics("run", "--state", state);
  assert.equal(replay.code, 0, replay.stderr);
  assert.match(replay.stdout, /entities\s+0 node versions, 0 relationship versions/);
  assert.match(replay.stdout, /links\s+0 link versions, 0 retracted/);
  assert.deepEqual(await links(state), before);
  assert.equal(await history(), counts);
  await Deno.remove(state, { recursive: true });
});

Deno.test("explain shows why a near miss is not linked and why a true pair is", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-e2e-" });
  assert.equal((await ics("run", "--state", state)).code, 0);
  const [plan] = SAMPLE_PLANS;
  const miss = nearMisses(plan)[0];
  const out = await ics(
    "explain",
    "--state",
    state,
    `${miss.left.split(":")[0]}:${plan.id}:${miss.left.split(":").slice(1).join(":")}`,
    `${miss.right.split(":")[0]}:${plan.id}:${miss.right.split(":").slice(1).join(":")}`,
  );
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /near miss\s+artifact-module-name/);
  assert.match(out.stdout, /below the threshold 0\.85/);
  assert.match(out.stdout, /no rule fired → not linked/);

  const hit = expectedLinks(plan).find((e) => e.family === "file_path_exact")!;
  const json = await ics(
    "explain",
    "--json",
    "--state",
    state,
    `${hit.left.split(":")[0]}:${plan.id}:${hit.left.split(":").slice(1).join(":")}`,
    `${hit.right.split(":")[0]}:${plan.id}:${hit.right.split(":").slice(1).join(":")}`,
  );
  const x = JSON.parse(json.stdout);
  assert.equal(x.linked, true);
  assert.equal(x.confidence, 0.97); // noisy_or(0.9, 0.7)
  assert.deepEqual(
    x.rules.filter((r: { verdict: string }) => r.verdict === "fired").map((r: { rule: string }) =>
      r.rule
    ),
    ["artifact-module-path", "artifact-module-name"],
  );
  await Deno.remove(state, { recursive: true });
});

Deno.test("run says an empty input is empty, and refuses /dev/zero in one line instead of spinning", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-e2e-" });
  const empty = join(state, "empty.jsonl");
  await Deno.writeTextFile(empty, "");
  const out = await ics("run", "--state", state, "--input", empty);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /The input ".*empty\.jsonl" is empty\./);
  assert.doesNotMatch(out.stdout, /already processed/);

  const zero = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "src/cli/main.ts", "run", "--state", state, "--input", "/dev/zero"],
    cwd: root,
    signal: AbortSignal.timeout(30_000),
  }).output();
  const stderr = new TextDecoder().decode(zero.stderr);
  assert.equal(zero.code, 2, stderr);
  assert.equal(
    stderr,
    'ics run: input "/dev/zero" is a device: the file source reads regular files only (it checkpoints how far it read, and reads again from there); write the stream to a file first\n',
  );
  await Deno.remove(state, { recursive: true });
});
