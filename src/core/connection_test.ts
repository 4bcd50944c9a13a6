import assert from "node:assert/strict";
import type { z } from "zod";
import { schema as redis } from "../dedup/redis.ts";
import { schema as postgres } from "../sinks/postgres_metrics.ts";
import { schema as neo4j } from "../sinks/neo4j_graph/mod.ts";
import { connectionFields } from "../kafka/mod.ts";

const issues = (schema: z.ZodType, config: unknown) =>
  schema.safeParse(config).error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`);

Deno.test("every service config refuses a password given both ways, on password_file", () => {
  const both = { password: "p", password_file: "f" };
  for (
    const [schema, type] of [[redis, "redis"], [postgres, "postgres"], [neo4j, "neo4j"]] as const
  ) {
    assert.deepEqual(issues(schema, { type, ...both }), [
      "password_file: give the password as password or password_file, not both",
    ], type);
    assert.equal(issues(schema, { type, password_file: "f" }), undefined, type);
  }
});

Deno.test("a Kafka SASL password is given exactly one way", () => {
  const sasl = connectionFields.sasl;
  const message = "give the SASL password as password or password_file (exactly one)";
  const user = { mechanism: "plain", username: "u" };
  assert.deepEqual(issues(sasl, user), [`: ${message}`]);
  assert.deepEqual(issues(sasl, { ...user, password: "p", password_file: "f" }), [`: ${message}`]);
  assert.equal(issues(sasl, { ...user, password_file: "f" }), undefined);
});

Deno.test("a setting the service configs share reads the same in each", () => {
  const { shape: r } = redis, { shape: p } = postgres;
  assert.equal(r.connect_timeout_ms.description, p.connect_timeout_ms.description);
  assert.equal(r.password.description, p.password.description?.replace("POSTGRES", "REDIS"));
  assert.equal(
    r.password_file.description,
    p.password_file.description?.replace("postgres", "redis"),
  );
});
