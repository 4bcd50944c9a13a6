/**
 * `ics run` logs JSON Lines when stderr is not a terminal (a pipe here, as under a container
 * runtime or systemd): one object per line with time, level, component and message, and the
 * live status line stays off. The last line of a failed run is its one-line diagnosis.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_copy.ts";

const root = new URL("..", import.meta.url).pathname;

async function ics(cwd: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      "--config",
      join(root, "deno.json"),
      join(root, "src/cli/main.ts"),
      ...args,
    ],
    cwd,
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A parsed log line, checked for the fields every line has. */
function entry(line: string): Record<string, string> {
  const e = JSON.parse(line);
  assert.deepEqual(Object.keys(e).slice(0, 3), ["time", "level", "component"], line);
  assert.equal(Object.keys(e).at(-1), "message", line);
  assert.equal(new Date(e.time).toISOString(), e.time, line);
  assert.ok(["info", "warn", "error"].includes(e.level), line);
  return e;
}

Deno.test("ics run logs JSON lines when stderr is not a terminal", async () => {
  const state = await Deno.makeTempDir({ prefix: "ics-logs-" });
  try {
    const port = freePort();
    const out = await ics(root, "run", "--state", state, "--metrics-port", String(port));
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stderr.trimEnd().split("\n");
    assert.ok(lines.length >= 1, out.stderr);
    const entries = lines.map(entry);
    assert.ok(
      entries.some((e) =>
        e.level === "info" && e.component === "http" &&
        e.message === `serving http://0.0.0.0:${port}/metrics, /healthz, /readyz and /graphql`
      ),
      out.stderr,
    );
    assert.doesNotMatch(out.stderr, /ics ▸/); // no status line in a pipe
    assert.match(out.stdout, /events read\s+351 /); // the summary stays text, on stdout
  } finally {
    await Deno.remove(state, { recursive: true });
  }
});

Deno.test("a run waiting for a service logs a JSON warning per attempt, then gives up with one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-logs-" });
  try {
    await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const down = (l.addr as Deno.NetAddr).port;
    l.close();
    const spec = join(dir, "pipeline.yaml");
    const text = (await Deno.readTextFile(spec))
      .replace(/^ {2}startup_timeout_seconds: \d+$/m, "  startup_timeout_seconds: 2")
      .replace(
        /^( {2}local:\n(?: {4}.*\n)*?) {4}dedup: .*\n/m,
        `$1    dedup: { type: redis, url: "redis://127.0.0.1:${down}" }\n`,
      );
    assert.match(text, /startup_timeout_seconds: 2\n/);
    assert.match(text, /dedup: \{ type: redis/);
    await Deno.writeTextFile(spec, text);

    const started = Date.now();
    const out = await ics(dir, "run", "--state", join(dir, "state"));
    const elapsed = Date.now() - started;
    assert.equal(out.code, 3, out.stderr);
    const lines = out.stderr.trimEnd().split("\n");
    const last = lines.pop()!;
    assert.match(
      last,
      new RegExp(
        "^ics run: failed: dedup did not become available within 2 s " +
          "\\(runtime\\.startup_timeout_seconds; 0 waits without limit\\): " +
          `Redis at "redis://127\\.0\\.0\\.1:${down}" is unreachable: `,
      ),
    );
    // One warning per attempt, nothing else.
    const waits = lines.map(entry);
    assert.ok(waits.length >= 2, out.stderr);
    for (const [i, w] of waits.entries()) {
      const attempt = i + 1;
      assert.deepEqual([w.level, w.component], ["warn", "dedup"]);
      assert.match(
        w.message,
        new RegExp(
          `^dedup is not available yet \\(attempt ${attempt}\\), waiting up to \\d+ s more: Redis at `,
        ),
      );
    }
    assert.ok(elapsed < 30_000, `gave up after ${elapsed} ms`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
