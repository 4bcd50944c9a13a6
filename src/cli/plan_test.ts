import assert from "node:assert/strict";
import { join } from "node:path";
import * as planCommand from "./plan.ts";
import { capture } from "./_capture.ts";
import { copySpec, replaceOnce, ROOT } from "../policy/_testing.ts";

const spec = join(ROOT, "pipeline.yaml");

Deno.test("ics plan against a folder prints Markdown and gates on --fail-on", async () => {
  const base = await copySpec((file, text) =>
    file === "tags.yaml" ? replaceOnce(text, "confidence: 0.8", "confidence: 0.6") : text
  );
  try {
    const r = await capture(
      planCommand,
      "--spec",
      spec,
      "--base",
      base.dir,
      "--fail-on",
      "removed",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^## Correlation policy plan/);
    assert.match(r.stdout, /\*\*0 added · 0 removed · 5 rescored\*\* · 60 unchanged/);
    assert.match(r.stdout, /- rule `scenario-contract-tag`: `confidence: 0\.6 → 0\.8`/);
    assert.match(r.stdout, /Corpus: `samples\/events\.jsonl`, 351 events/);

    const gated = await capture(
      planCommand,
      "--spec",
      spec,
      "--base",
      base.dir,
      "--fail-on",
      "removed,rescored",
    );
    assert.equal(gated.code, 1);

    const json = await capture(planCommand, "--spec", spec, "--base", base.dir, "--format", "json");
    const report = JSON.parse(json.stdout);
    assert.deepEqual(report.totals, { added: 0, removed: 0, rescored: 5, unchanged: 60 });
    assert.deepEqual(report.changes[0].rules, ["scenario-contract-tag"]);
  } finally {
    await base.remove();
  }
});

Deno.test("ics plan reports an invalid base policy with its positions and exits 1", async () => {
  const base = await copySpec();
  try {
    await Deno.writeTextFile(
      join(base.dir, "rules/tags.yaml"),
      (await Deno.readTextFile(join(base.dir, "rules/tags.yaml"))).replace(
        "confidence:",
        "confidense:",
      ),
    );
    const r = await capture(planCommand, "--spec", spec, "--base", base.dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /rules\/tags\.yaml:\d+:\d+ {2}rules\[0\]\.confidense {2}unknown key "confidense"/,
    );
    assert.match(r.stderr, /The base policy \(.*\) is invalid: 1 errors\./);
  } finally {
    await base.remove();
  }
});

Deno.test("ics plan rejects bad usage with one line", async () => {
  assert.match((await capture(planCommand, "--spec", spec)).stderr, /--base is required/);
  const kind = await capture(planCommand, "--spec", spec, "--base", ROOT, "--fail-on", "gone");
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /--fail-on "gone" is not one of removed, rescored, added, any/);
  const ref = await capture(planCommand, "--spec", spec, "--base", "no-such-ref-xyz");
  assert.equal(ref.code, 2);
  assert.match(
    ref.stderr,
    /--base "no-such-ref-xyz" is neither a folder, a spec file nor a git revision/,
  );
});
