/**
 * One runner per state folder, with real processes: a second `ics run` on a folder another one
 * holds is refused with one line naming the folder and the holder's pid (before, both exited 0
 * and the graph was written twice), and a holder killed with SIGKILL blocks nothing: the lock is
 * the operating system's and ends with the process.
 *
 * The holder reads a file whose last line is still being written (no newline yet), with a spec
 * whose file source waits two minutes for such a line to settle: it stays in its run until killed.
 * Once its pid is in the lock file, it is past its start (and holds the lock).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_copy.ts";

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

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A runner in its run on `state`, waiting for the last line of its input until killed. */
async function holder(dir: string, state: string) {
  const spec = join(dir, "spec");
  await copy(root, spec, ["pipeline.yaml", "rules", "schemas"]);
  const file = join(spec, "pipeline.yaml");
  const yaml = await Deno.readTextFile(file);
  const local = "source: { type: file, path: samples/events.jsonl }";
  assert.ok(yaml.includes(local), "the local target's source line");
  await Deno.writeTextFile(
    file,
    yaml.replace(local, "source: { type: file, path: growing.jsonl, settle_ms: 120000 }"),
  );
  const first = (await Deno.readTextFile(join(root, "samples/events.jsonl"))).split("\n")[0];
  await Deno.writeTextFile(join(spec, "growing.jsonl"), `${first}\n{"event_id": "still bei`);
  const child = ics("run", "--spec", file, "--state", state).spawn();
  const lock = join(state, "lock");
  const started = Date.now();
  while ((await Deno.readTextFile(lock).catch(() => "")).trim() !== String(child.pid)) {
    if (Date.now() - started > 30_000) throw new Error("the holder never took the lock");
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    async kill() {
      child.kill("SIGKILL");
      const status = await child.status;
      await child.stdout.cancel();
      await child.stderr.cancel();
      return status;
    },
  };
}

Deno.test("a second run on a state folder in use is refused, naming the folder and the holder's pid", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-lock-" });
  const state = join(dir, "state");
  const first = await holder(dir, state);
  try {
    const second = await ics("run", "--state", state).output();
    const stderr = text(second.stderr);
    assert.equal(second.code, 2, stderr);
    assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
    assert.match(
      stderr,
      new RegExp(
        `^ics run: state folder "${state}" is in use by another ics process \\(pid ${first.pid}\\)`,
      ),
    );
    assert.equal(text(second.stdout), "", "the refused run printed no summary");
    // It processed nothing: no checkpoint (the holder has committed no batch either).
    await assert.rejects(Deno.stat(join(state, "checkpoints.json")), Deno.errors.NotFound);
  } finally {
    await first.kill();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a runner killed with SIGKILL does not block the next run on its state folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-lock-" });
  const state = join(dir, "state");
  try {
    const killed = await holder(dir, state);
    assert.equal((await killed.kill()).signal, "SIGKILL");
    // The lock file stays, with the dead holder's pid: it blocks nothing.
    assert.equal((await Deno.readTextFile(join(state, "lock"))).trim(), String(killed.pid));

    const next = await ics("run", "--state", state).output();
    assert.equal(next.code, 0, text(next.stderr));
    assert.match(text(next.stdout), /events read\s+351 /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
