import assert from "node:assert/strict";
import { join } from "node:path";

const root = new URL("../../..", import.meta.url).pathname;

/** A process that makes a driver error, prints what it is, then dies of an uncaught error. */
async function driverError(fixed: boolean) {
  const dir = await Deno.makeTempDir({ prefix: "ics-proto-" });
  const file = join(dir, "driver_error.ts");
  await Deno.writeTextFile(
    file,
    `import neo4j from "neo4j-driver";
     import { allowErrorPrototypeFix } from "${new URL("./_proto.ts", import.meta.url)}";
     if (${fixed}) allowErrorPrototypeFix();
     const e = new neo4j.Neo4jError("gone", "Neo.TransientError.General.DatabaseUnavailable", "50N42", "d");
     console.log(JSON.stringify({ instance: e instanceof neo4j.Neo4jError, retryable: neo4j.isRetryableError(e) }));
     throw new Error("boom");`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", join(root, "deno.json"), "--allow-read", "--allow-env", file],
    cwd: root,
    env: { NO_COLOR: "1" },
  }).output().finally(() => Deno.remove(dir, { recursive: true }));
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assert.equal(out.code, 1); // the uncaught error
  return { ...JSON.parse(text(out.stdout)), stderr: text(out.stderr) };
}

Deno.test("neo4j-driver's errors: Deno's __proto__ note is silenced at its source, and they are Neo4jErrors", async () => {
  // The source: the driver's constructors assign __proto__, which Deno disables and notes.
  const before = await driverError(false);
  assert.equal(before.instance, false);
  assert.equal(before.retryable, false); // the driver's own retries never fire
  // deno-lint-ignore no-control-regex
  const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");
  assert.match(plain(before.stderr), /This program assigned to Object\.prototype\.__proto__/);

  const after = await driverError(true);
  assert.equal(after.instance, true);
  assert.equal(after.retryable, true);
  assert.match(after.stderr, /Uncaught \(in promise\) Error: boom|Uncaught Error: boom/);
  assert.doesNotMatch(after.stderr, /__proto__|--unsafe-proto/);
});
