/** ioredis connection options from the Redis dedup config. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectionOptions } from "./redis.ts";

Deno.test("redis connectionOptions(): the URL as is unless credentials are given apart", async () => {
  const url = "redis://:from-url@127.0.0.1:6379/2";
  assert.deepEqual(await connectionOptions({ url }), { url });
  // Explicit credentials win: ioredis would prefer the URL's, so they all move to the options.
  assert.deepEqual(await connectionOptions({ url, password: "explicit" }), {
    url: "redis://127.0.0.1:6379/2",
    password: "explicit",
  });
  assert.deepEqual(await connectionOptions({ url: "redis://alice:pw@h:1", username: "bob" }), {
    url: "redis://h:1",
    username: "bob",
    password: "pw",
  });
  assert.deepEqual(
    await connectionOptions({ url: "redis://alice@h:1", password: "p%w" }),
    { url: "redis://h:1", username: "alice", password: "p%w" },
  );
  const dir = await Deno.makeTempDir({ prefix: "ics-redis-sec-" });
  try {
    await Deno.writeTextFile(join(dir, "pw"), "from-file\n");
    await Deno.writeTextFile(join(dir, "ca.pem"), "CA");
    assert.deepEqual(
      await connectionOptions({
        url: "rediss://h:6380",
        password_file: join(dir, "pw"),
        ca_file: join(dir, "ca.pem"),
      }),
      { url: "rediss://h:6380", password: "from-file", tls: { ca: "CA" } },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
