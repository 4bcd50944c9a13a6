import assert from "node:assert/strict";
import { join } from "node:path";
import { lockState } from "./state_lock.ts";
import { UserError } from "./errors.ts";

Deno.test("lockState() refuses a folder already locked, naming it and the holder's pid, until it is released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-state-lock-" });
  try {
    const held = await lockState(dir);
    assert.equal(await Deno.readTextFile(join(dir, "lock")), `${Deno.pid}\n`);
    // flock belongs to the open file: a second open in the same process is refused too.
    await assert.rejects(lockState(dir), (error: Error) => {
      assert.ok(error instanceof UserError);
      assert.equal(
        error.message,
        `state folder "${dir}" is in use by another ics process (pid ${Deno.pid}): one state ` +
          "folder takes one runner at a time; wait for it to end, or give this one its own --state",
      );
      return true;
    });
    await held.close();
    await held.close(); // idempotent
    const again = await lockState(dir);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
