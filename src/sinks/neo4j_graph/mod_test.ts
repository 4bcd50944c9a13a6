/** neo4j-driver credentials and TLS settings from the graph store config. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { driverOptions, type Neo4jGraphConfig, schema } from "./mod.ts";

const config = (extra: Record<string, unknown>): Neo4jGraphConfig =>
  schema.parse({ type: "neo4j", ...extra });

Deno.test("neo4j driverOptions(): no auth, no TLS by default; user, password, TLS when set", async () => {
  assert.deepEqual(await driverOptions(config({})), { user: undefined, password: undefined });
  assert.deepEqual(await driverOptions(config({ password: "pw" })), {
    user: "neo4j",
    password: "pw",
  });
  const dir = await Deno.makeTempDir({ prefix: "ics-neo4j-sec-" });
  try {
    await Deno.writeTextFile(join(dir, "pw"), "from-file\n");
    await Deno.writeTextFile(join(dir, "ca.pem"), "CA");
    assert.deepEqual(
      await driverOptions(config({ user: "ics", password_file: join(dir, "pw"), encrypted: true })),
      {
        user: "ics",
        password: "from-file",
        encrypted: "ENCRYPTION_ON",
        trust: "TRUST_SYSTEM_CA_SIGNED_CERTIFICATES",
      },
    );
    assert.deepEqual(
      await driverOptions(config({ encrypted: true, ca_file: join(dir, "ca.pem") })),
      {
        user: undefined,
        password: undefined,
        encrypted: "ENCRYPTION_ON",
        trust: "TRUST_CUSTOM_CA_SIGNED_CERTIFICATES",
        trustedCertificates: [join(dir, "ca.pem")],
      },
    );
    // A +s URI brings its own TLS settings (the driver rejects both).
    assert.deepEqual(await driverOptions(config({ uri: "neo4j+s://db:7687", user: "u" })), {
      user: "u",
      password: undefined,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
