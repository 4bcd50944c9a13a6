import assert from "node:assert/strict";
import { join } from "node:path";
import { loadSpec } from "../compiler/mod.ts";
import { UserError } from "../core/errors.ts";
import type { LinkRow } from "./evaluate.ts";
import { comparePolicies, diffLinks, failsOn, plan } from "./plan.ts";
import { planMarkdown } from "./_plan_render.ts";
import { openBase } from "./_base.ts";
import { copySpec, replaceOnce, ROOT } from "./_testing.ts";

const { spec: shipped } = await loadSpec(join(ROOT, "pipeline.yaml"));
const SAMPLES = join(ROOT, "samples/events.jsonl");

/** The shipped policy with a looser fuzzy module rule and a lower feature confidence. */
const loosen = (file: string, text: string) =>
  file === "file_paths.yaml"
    ? replaceOnce(
      replaceOnce(text, "threshold: 0.85 # user_service", "threshold: 0.5 # user_service"),
      "    threshold: 0.85\n    confidence: 0.7",
      "    threshold: 0.85\n    confidence: 0.6",
    )
    : text;

const end = (label: string, key: string, iteration_id = "it-1") => ({
  label,
  iteration_id,
  key: [key],
});
const link = (a: string, b: string, confidence: number, rules: [string, number][]): LinkRow => ({
  from: end("A", a),
  to: end("B", b),
  iteration_id: "it-1",
  confidence,
  rules: rules.map(([rule, score]) => ({
    rule,
    kind: "k",
    score,
    matched: { left: a, right: b },
  })),
  policy: "p",
});

Deno.test("diffLinks() sorts links into removed, rescored, added and unchanged", () => {
  const base = [
    link("1", "1", 0.9, [["exact", 0.9]]),
    link("2", "2", 0.97, [["exact", 0.9], ["fuzzy", 0.7]]),
    link("3", "3", 0.7, [["fuzzy", 0.7]]),
    link("5", "5", 0.5, [["h", 0.5]]),
  ];
  const flipped = { ...link("5", "5", 0.5, [["h", 0.5]]) };
  [flipped.from, flipped.to] = [flipped.to, flipped.from]; // orientation does not matter
  const working = [
    link("1", "1", 0.9, [["exact", 0.9]]),
    link("2", "2", 0.93, [["exact", 0.9], ["fuzzy", 0.3]]),
    link("4", "4", 0.7, [["fuzzy", 0.7]]),
    flipped,
  ];
  const { changes, unchanged } = diffLinks(base, working);
  assert.equal(unchanged, 2);
  assert.deepEqual(changes.map((c) => [c.change, c.from.key[0], c.rules]), [
    ["removed", "3", ["fuzzy"]],
    ["rescored", "2", ["fuzzy"]],
    ["added", "4", ["fuzzy"]],
  ]);
  assert.deepEqual(changes[1].before?.confidence, 0.97);
  assert.deepEqual(changes[1].after?.confidence, 0.93);
});

Deno.test("comparePolicies() names the rules added, removed and the settings changed", async () => {
  const edited = await copySpec((file, text) =>
    file === "heuristics.yaml"
      ? replaceOnce(
        text,
        "window_seconds: 600, weight: 0.4",
        "window_seconds: 300, weight: 0.4",
      )
      : file === "tags.yaml"
      ? replaceOnce(text, "id: scenario-contract-tag", "id: scenario-contract-tag-v2")
      : text
  );
  try {
    const p = comparePolicies(shipped!, edited.spec);
    assert.deepEqual(p.rules_added, ["scenario-contract-tag-v2"]);
    assert.deepEqual(p.rules_removed, ["scenario-contract-tag"]);
    assert.deepEqual(p.rules_modified, [{
      rule: "task-scenario-heuristic",
      changes: ["features[1].window_seconds: 600 → 300"],
    }]);
    assert.deepEqual(p.settings, []);
  } finally {
    await edited.remove();
  }
});

Deno.test("plan() runs both policies over the samples and explains every change", async () => {
  const base = await copySpec(loosen);
  try {
    const report = await plan({
      base: { spec: base.spec, label: "loose" },
      working: { spec: shipped!, label: "working tree" },
      corpus: SAMPLES,
    });
    assert.deepEqual(report.totals, { added: 0, removed: 3, rescored: 12, unchanged: 53 });
    assert.equal(report.base.links, 68);
    assert.equal(report.working.links, 65);
    assert.equal(report.corpus.events, 351); // records, malformed ones included
    assert.deepEqual(report.by_rule.map((r) => [r.rule, r.removed, r.rescored, r.added]), [
      ["feature-artifact-stem", 0, 12, 0],
      ["artifact-module-name", 3, 0, 0],
    ]);
    assert.deepEqual(report.by_iteration.map((r) => [r.iteration_id, r.removed, r.rescored]), [
      ["it-0001", 1, 4],
      ["it-0002", 1, 4],
      ["it-0003", 1, 4],
    ]);
    const removed = report.changes.find((c) => c.change === "removed")!;
    assert.equal(
      `${removed.from.key} ~ ${removed.to.key}`,
      "src/api/user_service.py ~ src/api/user_services.py",
    );
    assert.match(
      removed.why!,
      /artifact-module-name .*similarity 0\.50 is below the threshold 0\.85/,
    );
    const rescored = report.changes.find((c) => c.change === "rescored")!;
    assert.deepEqual([rescored.before?.confidence, rescored.after?.confidence], [0.6, 0.7]);
    assert.deepEqual(report.policy_changes.rules_modified.map((m) => m.changes), [
      ["threshold: 0.5 → 0.85"],
      ["confidence: 0.6 → 0.7"],
    ]);
    assert.ok(failsOn(report, ["removed"]) && failsOn(report, ["any"]));
    assert.ok(!failsOn(report, ["added"]));

    const md = planMarkdown(report);
    assert.match(md, /\*\*0 added · 3 removed · 12 rescored\*\* · 53 unchanged/);
    assert.match(md, /- rule `artifact-module-name`: `threshold: 0\.5 → 0\.85`/);
    assert.match(md, /\| `artifact-module-name` \| 3 \| 0 \| 0 \|/);
    assert.match(
      md,
      /\| removed \| it-0001 \| `Artifact:src\/api\/user_service\.py` ~ `Module:src\/api\/user_services\.py` \| 0\.35 → – \|/,
    );
    assert.match(
      md,
      /\| rescored \| it-0001 \| .* \| 0\.6 → 0\.7 \| feature-artifact-stem 0\.6 → 0\.7 \|/,
    );
  } finally {
    await base.remove();
  }
});

Deno.test("plan() says why the base did not link what the working policy adds", async () => {
  const working = await copySpec(loosen);
  try {
    const report = await plan({
      base: { spec: shipped!, label: "main" },
      working: { spec: working.spec, label: "working tree" },
      corpus: SAMPLES,
    });
    assert.deepEqual(report.totals, { added: 3, removed: 0, rescored: 12, unchanged: 53 });
    const added = report.changes.filter((c) => c.change === "added");
    assert.ok(added.every((c) => /near miss, score 0\.35/.test(c.why!)), JSON.stringify(added));
    assert.match(planMarkdown(report), /<br>before: closest rule artifact-module-name/);
  } finally {
    await working.remove();
  }
});

Deno.test("plan() of a policy against itself changes nothing", async () => {
  const report = await plan({
    base: { spec: shipped!, label: "same" },
    working: { spec: shipped!, label: "same" },
    corpus: SAMPLES,
  });
  assert.deepEqual(report.totals, { added: 0, removed: 0, rescored: 0, unchanged: 65 });
  assert.ok(!failsOn(report, ["any"]));
  assert.match(planMarkdown(report), /No link changes\./);
});

async function git(cwd: string, ...args: string[]) {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
}

Deno.test("openBase() reads the spec, rule files and schemas of a git revision", async () => {
  const repo = await copySpec();
  try {
    await git(repo.dir, "init", "-q");
    await git(repo.dir, "add", ".");
    await git(repo.dir, "commit", "-q", "-m", "policy");
    const rules = join(repo.dir, "rules/file_paths.yaml");
    await Deno.writeTextFile(rules, loosen("file_paths.yaml", await Deno.readTextFile(rules)));
    await Deno.writeTextFile(join(repo.dir, "rules/extra.yaml"), "not: [a rule file");

    const base = await openBase("HEAD", repo.file);
    try {
      assert.match(base.label, /^HEAD \([0-9a-f]{10}\)$/);
      const { spec, errors } = await loadSpec(base.specFile);
      assert.deepEqual(errors, []);
      assert.equal(spec!.policy, shipped!.policy); // the committed policy, not the edited one
      assert.equal(base.display(base.specFile), "HEAD:pipeline.yaml");
    } finally {
      await base.cleanup();
    }
    assert.equal(await Deno.stat(base.specFile).then(() => true, () => false), false);
    await assert.rejects(openBase("no-such-branch", repo.file), UserError);
  } finally {
    await repo.remove();
  }
});

Deno.test("openBase() takes a folder or a spec file as it is", async () => {
  const dir = await openBase(ROOT, "pipeline.yaml");
  assert.equal(dir.specFile, join(ROOT, "pipeline.yaml"));
  const file = await openBase(join(ROOT, "pipeline.yaml"), "pipeline.yaml");
  assert.equal(file.specFile, join(ROOT, "pipeline.yaml"));
});
