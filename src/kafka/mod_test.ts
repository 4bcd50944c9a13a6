/**
 * The kafkajs security options built from a connection config. No SASL or TLS broker runs in the
 * test environment, so this checks the mapping; tests/integration/secrets_test.ts shows a SASL
 * config reaching a real (plaintext) broker.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { securityOptions } from "./mod.ts";
import { redact } from "../core/secrets.ts";

Deno.test("securityOptions(): none by default, as before", async () => {
  assert.deepEqual(await securityOptions({ ssl: false }), { ssl: false, sasl: undefined });
  assert.deepEqual(await securityOptions({ ssl: true }), { ssl: true, sasl: undefined });
});

Deno.test("securityOptions(): SASL from the environment or a file, TLS files read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-kafka-sec-" });
  try {
    const secret = `f1le-${crypto.randomUUID()}`;
    await Deno.writeTextFile(join(dir, "pw"), `${secret}\n`);
    await Deno.writeTextFile(join(dir, "ca.pem"), "CA");
    await Deno.writeTextFile(join(dir, "c.pem"), "CERT");
    await Deno.writeTextFile(join(dir, "c.key"), "KEY-" + secret);
    for (const mechanism of ["plain", "scram-sha-256", "scram-sha-512"] as const) {
      assert.deepEqual(
        await securityOptions({
          ssl: {
            ca_file: join(dir, "ca.pem"),
            cert_file: join(dir, "c.pem"),
            key_file: join(dir, "c.key"),
          },
          sasl: { mechanism, username: "ics", password_file: join(dir, "pw") },
        }),
        {
          ssl: { ca: "CA", cert: "CERT", key: "KEY-" + secret },
          sasl: { mechanism, username: "ics", password: secret },
        },
      );
    }
    const env = `env-${crypto.randomUUID()}`;
    assert.deepEqual(
      await securityOptions({
        ssl: {},
        sasl: { mechanism: "plain", username: "u", password: env },
      }),
      { ssl: {}, sasl: { mechanism: "plain", username: "u", password: env } },
    );
    assert.equal(redact(`${secret} ${env}`), "*** ***");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
