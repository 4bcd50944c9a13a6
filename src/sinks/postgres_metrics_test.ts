/** postgres.js connection options from the metrics store config. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { connectionOptions } from "./postgres_metrics.ts";

Deno.test("postgres connectionOptions(): nothing by default; password and TLS when configured", async () => {
  assert.deepEqual(await connectionOptions({}), {});
  const dir = await Deno.makeTempDir({ prefix: "ics-pg-sec-" });
  try {
    const secret = `f1le-${crypto.randomUUID()}`;
    await Deno.writeTextFile(join(dir, "pw"), `${secret}\n`);
    await Deno.writeTextFile(join(dir, "ca.pem"), "CA");
    assert.deepEqual(await connectionOptions({ password_file: join(dir, "pw") }), {
      password: secret,
    });
    assert.deepEqual(await connectionOptions({ password: "from-env", sslmode: "require" }), {
      password: "from-env",
      ssl: "require",
    });
    assert.deepEqual(await connectionOptions({ sslmode: "disable" }), { ssl: false });
    assert.deepEqual(await connectionOptions({ sslmode: "verify-full" }), { ssl: "verify-full" });
    assert.deepEqual(await connectionOptions({ ca_file: join(dir, "ca.pem") }), {
      ssl: { ca: "CA", rejectUnauthorized: true },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
