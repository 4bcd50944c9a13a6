/**
 * `runtime.durability`, embedded target, watched at the system calls (strace): under
 * `power_loss` nothing the run wrote is left unsynced when a batch is acknowledged (the
 * checkpoint's rename): every write to the dead-letter file and to the SQLite files (WAL and
 * database) is followed by an fsync of that file before the ack, the new checkpoint is fsynced
 * before its rename and its folder after. Under `process` (the default) the run writes the same
 * files with no fsync before the ack: the checkpoint and dead-letter file are never synced.
 *
 * Needs strace (Linux); outside CI a machine without it ignores these tests.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { copy } from "./_copy.ts";

const root = new URL("..", import.meta.url).pathname;

const hasStrace = await new Deno.Command("strace", { args: ["-V"], stdout: "null" }).output()
  .then((o) => o.success, () => false);

type Call =
  | { kind: "write" | "sync"; path: string }
  | { kind: "rename"; from: string; to: string };

/** Run the embedded pipeline on the samples under strace, in batches of ten; its file calls. */
async function traced(durability?: "process" | "power_loss"): Promise<Call[]> {
  const dir = await Deno.makeTempDir({ prefix: "ics-durability-" });
  try {
    await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
    const spec = join(dir, "pipeline.yaml");
    let text = await Deno.readTextFile(spec);
    const local = "source: { type: file, path: samples/events.jsonl }";
    assert.ok(text.includes(local) && text.includes("\n  queue_batches: 2\n"));
    text = text.replace(local, local.replace("}", ", batch_size: 10 }"));
    if (durability) {
      text = text.replace(
        "\n  queue_batches: 2\n",
        `\n  queue_batches: 2\n  durability: ${durability}\n`,
      );
    }
    await Deno.writeTextFile(spec, text);
    const trace = join(dir, "trace.txt");
    const out = await new Deno.Command("strace", {
      args: [
        ...["-f", "-qq", "-y", "-o", trace],
        ...["-e", "trace=write,pwrite64,fsync,fdatasync,rename,renameat,renameat2"],
        ...[Deno.execPath(), "run", "--allow-all", `${root}src/cli/main.ts`],
        ...["run", "--spec", spec, "--state", join(dir, "state"), "--quiet"],
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return parse(await Deno.readTextFile(trace), join(dir, "state"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * The calls on the state folder's files, in order, paths relative to it ("." for the folder).
 * SQLite's `-shm` files are left out: the WAL index, never synced, rebuilt from the WAL on open.
 * So is the folder's `lock`: it holds the runner's pid for the refusal message, no data.
 */
function parse(trace: string, state: string): Call[] {
  const calls: Call[] = [];
  const local = (p: string) =>
    p === state
      ? "."
      : p.startsWith(`${state}/`) && !p.endsWith("-shm") && basename(p) !== "lock"
      ? basename(p)
      : "";
  for (const line of trace.split("\n")) {
    const fd = /^\d+\s+(write|pwrite64|fsync|fdatasync)\(\d+<([^>]*)>/.exec(line);
    if (fd && local(fd[2])) {
      calls.push({ kind: fd[1].includes("sync") ? "sync" : "write", path: local(fd[2]) });
    }
    const rename = /^\d+\s+rename(?:at2?)?\((?:\w+, )?"([^"]+)", (?:\w+, )?"([^"]+)"/.exec(line);
    if (rename && local(rename[2])) {
      calls.push({ kind: "rename", from: local(rename[1]), to: local(rename[2]) });
    }
  }
  return calls;
}

/** The files written since their last sync, at each ack (the checkpoint's rename). */
function unsyncedAtAcks(calls: Call[]): string[][] {
  const dirty = new Set<string>(), atAcks: string[][] = [];
  for (const c of calls) {
    if (c.kind === "write") dirty.add(c.path);
    else if (c.kind === "sync") dirty.delete(c.path);
    else if (c.kind === "rename" && c.to === "checkpoints.json") atAcks.push([...dirty].sort());
  }
  return atAcks;
}

const options = { ignore: !hasStrace && !Deno.env.get("CI") };

Deno.test({
  name: "durability power_loss: every file a batch wrote is fsynced before the batch is acked",
  ...options,
  async fn() {
    assert.ok(hasStrace, "strace is needed (apt-get install strace)");
    const calls = await traced("power_loss");
    const acks = unsyncedAtAcks(calls);
    assert.ok(acks.length >= 5, `${acks.length} acks`);
    for (const [i, unsynced] of acks.entries()) assert.deepEqual(unsynced, [], `ack ${i + 1}`);
    // What was written: the dead letters, both databases' WALs, the new checkpoint.
    const written = new Set(calls.flatMap((c) => c.kind === "write" ? [c.path] : []));
    for (const f of ["dlq.jsonl", "graph.db-wal", "metrics.db-wal", "checkpoints.json.tmp"]) {
      assert.ok(written.has(f), `${f} written`);
    }
    // The checkpoint's rename is made durable too: the folder is fsynced after each.
    calls.forEach((c, i) => {
      if (c.kind !== "rename") return;
      const next = calls.slice(i + 1).findIndex((d) => d.kind === "rename");
      const until = next === -1 ? calls.length : i + 1 + next;
      assert.ok(
        calls.slice(i + 1, until).some((d) => d.kind === "sync" && d.path === "."),
        `the state folder is fsynced after rename ${i}`,
      );
    });
  },
});

Deno.test({
  name: "durability process (the default): the checkpoint and dead letters are not fsynced",
  ...options,
  async fn() {
    assert.ok(hasStrace, "strace is needed (apt-get install strace)");
    const calls = await traced();
    const synced = new Set(calls.flatMap((c) => c.kind === "sync" ? [c.path] : []));
    const written = new Set(calls.flatMap((c) => c.kind === "write" ? [c.path] : []));
    assert.ok(written.has("dlq.jsonl") && written.has("checkpoints.json.tmp"));
    assert.ok(!synced.has("dlq.jsonl"), "dlq.jsonl fsynced");
    assert.ok(!synced.has("checkpoints.json.tmp"), "checkpoint fsynced");
    // SQLite commits without syncing the WAL (synchronous = NORMAL): acks find it unsynced.
    assert.ok(unsyncedAtAcks(calls).some((u) => u.includes("metrics.db-wal")));
  },
});
