/**
 * Config fuzzing: hundreds of random mutations of `pipeline.yaml` and the rule files (seeded, so a
 * failure is reproducible). Every case must end in a valid spec or in errors that each carry a
 * file, a line and column inside that file, a YAML path and a one-line message: never an
 * exception, a stack trace or a hang. The cases run in a worker; a case the worker does not answer
 * within a minute is a hang (a slow machine takes well under a second per case). A sample also
 * goes through the CLI, which must exit 0 or 1 and print no stack trace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_copy.ts";
import type { FuzzMessage, FuzzRequest } from "./config_fuzz/_worker.ts";

const root = new URL("..", import.meta.url).pathname;
const SEED = Number(Deno.env.get("ICS_FUZZ_SEED") ?? 20_250_303);
const CASES = Number(Deno.env.get("ICS_FUZZ_CASES") ?? 300);
/** Cases that also run through the CLI. */
const CLI_SAMPLE = Array.from({ length: 8 }, (_, k) => Math.floor((k * CASES) / 8) + 3);
/** No answer for this long means a hang, not slowness. */
const HANG_MS = 60_000;

/** A YAML path as the compiler writes it: `a.b[2]["odd key"]`, or empty for the document. */
const YAML_PATH = /^(|([\w$-]+|\["(?:[^"\\]|\\.)*"\])(\.[\w$-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*)$/;
/** A stack frame: "    at fn (file:1:2)". */
const STACK = /\n\s+at /;

Deno.test(`config fuzzing: ${CASES} mutated specs end in a valid spec or positioned errors (seed ${SEED})`, async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-fuzz-" });
  try {
    await copy(root, dir, ["pipeline.yaml", "rules", "schemas"]);
    const rules: string[] = [];
    for await (const e of Deno.readDir(join(dir, "rules"))) {
      if (e.isFile && e.name.endsWith(".yaml")) rules.push(`rules/${e.name}`);
    }
    const files = ["pipeline.yaml", ...rules.sort()];
    const outcomes = await runCases({ dir, seed: SEED, cases: CASES, files, keep: CLI_SAMPLE });

    let valid = 0;
    const kept: { i: number; file: string; bytes: Uint8Array }[] = [];
    for (const o of outcomes) {
      const what = `case ${o.i} (seed ${SEED}), ${o.file}: ${o.steps.join("; ")}`;
      assert.equal(o.threw, undefined, `${what}\nthrew: ${o.threw}`);
      assert.equal(o.valid, o.errors.length === 0, `${what}: valid exactly when no errors`);
      if (o.valid) valid++;
      assert.deepEqual(o.inconsistent ?? [], [], `${what}: a valid spec that would fail to run`);
      for (const e of o.errors) {
        const where = `${what}\n${JSON.stringify(e).slice(0, 400)}`;
        assert.ok(e.file in o.lines, `${where}: not a file of the spec`);
        assert.ok(Number.isInteger(e.line) && e.line >= 1, `${where}: line`);
        assert.ok(e.line <= o.lines[e.file], `${where}: line past the end of the file`);
        assert.ok(Number.isInteger(e.column) && e.column >= 1, `${where}: column`);
        assert.match(e.path, YAML_PATH, `${where}: YAML path`);
        assert.ok(typeof e.message === "string" && e.message.trim().length > 0, where);
        assert.ok(!e.message.includes("\n"), `${where}: a message is one line`);
        assert.doesNotMatch(e.message, STACK, `${where}: stack trace`);
      }
      if (o.bytes) kept.push({ i: o.i, file: o.file, bytes: o.bytes });
    }
    assert.equal(outcomes.length, CASES);
    // The mutations are not all fatal, nor all harmless: both outcomes must be exercised.
    assert.ok(valid > 0 && valid < CASES, `${valid} of ${CASES} mutated specs are valid`);

    // The CLI on a sample: exit 0 (valid) or 1 (positioned errors), never a stack trace.
    assert.equal(kept.length, CLI_SAMPLE.length);
    for (const k of kept) {
      const caseDir = join(dir, `cli-${k.i}`);
      await copy(dir, caseDir, ["pipeline.yaml", "rules", "schemas"]);
      await Deno.writeFile(join(caseDir, k.file), k.bytes);
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-read",
          "--allow-env",
          `${root}src/cli/main.ts`,
          "validate",
          join(caseDir, "pipeline.yaml"),
        ],
        cwd: root,
        signal: AbortSignal.timeout(HANG_MS),
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      const what = `CLI on case ${k.i} (seed ${SEED}), ${k.file}\n${stderr.slice(0, 2000)}`;
      assert.ok(out.code === 0 || out.code === 1, `${what}\nexit ${out.code}`);
      assert.doesNotMatch(stderr, STACK, what);
      if (out.code === 1) {
        const lines = stderr.trimEnd().split("\n");
        assert.match(lines.at(-1)!, /^\d+ errors? in the spec\.$/, what);
        for (const line of lines.slice(0, -2)) {
          assert.match(line, /^\S.*:\d+:\d+ {2}.+$/, what);
        }
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Run the cases in a worker; fail naming the case when the worker stops answering. */
async function runCases(request: FuzzRequest) {
  const worker = new Worker(new URL("./config_fuzz/_worker.ts", import.meta.url), {
    type: "module",
  });
  const outcomes: Extract<FuzzMessage, { type: "done" }>[] = [];
  let last = "before the first case";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const watch = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => reject(new Error(`no answer for ${HANG_MS / 1000} s: hang in ${last}`)),
          HANG_MS,
        );
      };
      worker.onmessage = (e: MessageEvent<FuzzMessage>) => {
        watch();
        const m = e.data;
        if (m.type === "ready") worker.postMessage(request);
        else if (m.type === "start") last = `case ${m.i}, ${m.file}: ${m.steps.join("; ")}`;
        else if (m.type === "done") outcomes.push(m);
        else resolve();
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`worker failed in ${last}: ${e.message}`));
      };
    });
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
  return outcomes;
}
