/**
 * One runner per state folder, with real processes: a second `ics run` on a folder another one
 * holds is refused with one line naming the folder and the holder's pid (before, both exited 0
 * and the graph was written twice), and a holder killed with SIGKILL blocks nothing: the lock is
 * the operating system's and ends with the process.
 *
 * The holder reads a FIFO that the test holds open and never writes to, so it stays in its run
 * until killed: once it opened the FIFO, it is past its start (and holds the lock).
 */
import assert from "node:assert/strict";
import { join } from "node:path";

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

/** A runner in its run on `state`, blocked reading a FIFO until killed. */
async function holder(dir: string, state: string) {
  const fifo = join(dir, "never.jsonl");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(made.code, 0, text(made.stderr));
  const child = ics("run", "--state", state, "--input", fifo).spawn();
  // Opening the FIFO for writing returns once the runner opened it to read.
  const writer = await Promise.race([
    Deno.open(fifo, { write: true }),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error("the holder never started reading")), 30_000)
    ),
  ]);
  return {
    pid: child.pid,
    async kill() {
      child.kill("SIGKILL");
      const status = await child.status;
      writer.close();
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
