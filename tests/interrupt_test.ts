/**
 * SIGINT/SIGTERM: the run finishes the batch in flight, flushes, exits 0, and a later run picks up
 * exactly where it stopped: interrupted + resumed gives the same graph as one uninterrupted run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { corpus, toJsonl } from "../bench/corpus.ts";

const root = new URL("..", import.meta.url).pathname;
const args = ["run", "--allow-read", "--allow-write", "--allow-env", "src/cli/main.ts"];

function ics(...rest: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [...args, ...rest],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  });
}

async function graph(state: string): Promise<string[]> {
  const out = await ics("links", "--state", state).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => JSON.parse(l));
  return lines.map((l) =>
    JSON.stringify([l.from, l.to, l.confidence, l.rules.map((r: { rule: string }) => r.rule)])
  ).sort();
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`run stops cleanly on ${signal} and resumes to the same graph`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "ics-signal-" });
    const input = join(dir, "events.jsonl");
    await Deno.writeTextFile(input, [...corpus({ iterations: 80, seed: 7 })].map(toJsonl).join(""));

    const child = ics("run", "--input", input, "--state", join(dir, "a")).spawn();
    // Signal as soon as the first batch is committed (its checkpoint appears): mid-input for sure.
    const checkpoint = join(dir, "a", "checkpoints.json");
    while (!(await Deno.stat(checkpoint).then(() => true, () => false))) {
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill(signal);
    const stopped = await child.output();
    const text = new TextDecoder().decode(stopped.stdout);
    assert.equal(stopped.code, 0, new TextDecoder().decode(stopped.stderr));
    const read = Number(/events read\s+(\d+)/.exec(text)?.[1]);
    assert.ok(read > 0 && read < 80 * 250, `interrupted mid-input, read ${read}: ${text}`);

    const resumed = await ics("run", "--input", input, "--state", join(dir, "a")).output();
    assert.equal(resumed.code, 0);
    const clean = await ics("run", "--input", input, "--state", join(dir, "b")).output();
    assert.equal(clean.code, 0);
    const [a, b] = [await graph(join(dir, "a")), await graph(join(dir, "b"))];
    assert.ok(b.length > 1000);
    assert.deepEqual(a, b);
    await Deno.remove(dir, { recursive: true });
  });
}
