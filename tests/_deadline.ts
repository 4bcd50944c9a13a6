/**
 * Runs code that must finish in linear time in a fresh Deno process, killed at a deadline far
 * above what the linear code takes (milliseconds to a few seconds) and far below what the
 * quadratic or exponential code it replaces took (minutes to hours): a hang fails the test
 * instead of stalling the suite, and a slow machine does not.
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url);

/**
 * Evaluates `code` (a module body: it may `import` from `ROOT`-relative `file:` URLs, see
 * {@link repoUrl}) and returns what it printed; fails when it has not exited after `seconds`.
 */
export async function runWithin(seconds: number, code: string): Promise<string> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", code],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(seconds * 1000),
  }).output();
  const took = ((performance.now() - started) / 1000).toFixed(1);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.signal === null, `did not finish within ${seconds} s (killed after ${took} s)`);
  assert.equal(out.code, 0, stderr);
  return new TextDecoder().decode(out.stdout);
}

/** The `file:` URL of a repository file, for imports in {@link runWithin} code. */
export function repoUrl(path: string): string {
  return new URL(path, ROOT).href;
}
