/**
 * Secrets in the spec: a literal password is a positioned error, one from the environment or a
 * named file is fine, `*_file` paths resolve against the spec's folder, and validation errors
 * never quote a secret.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { formatErrors, loadSpec } from "./mod.ts";
import { copy } from "../../tests/_copy.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A copy of the shipped spec with `targets` text appended; loaded with `env`. */
async function withTargets(targets: string, env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "ics-spec-secrets-" });
  await copy(ROOT, dir, ["pipeline.yaml", "rules", "schemas"]);
  const file = join(dir, "pipeline.yaml");
  const text = await Deno.readTextFile(file);
  await Deno.writeTextFile(file, text.trimEnd() + "\n" + targets);
  const lines = text.trimEnd().split("\n").length;
  const result = await loadSpec(file, (n) => env[n]);
  await Deno.remove(dir, { recursive: true });
  return { ...result, dir, lines };
}

const SINKS = `
    graph: { type: sqlite }
    metrics: { type: sqlite }
    dlq: { type: file }`;

Deno.test("a password written in the spec is an error at its position; ${VAR} and files are not", async () => {
  const { errors, lines } = await withTargets(
    `  literal:
    source: { type: file, path: x.jsonl }
    dedup: { type: redis, url: "redis://:hunter2-literal@127.0.0.1:6379" }
    graph: { type: neo4j, user: neo4j, password: hunter2-literal }
    metrics: { type: sqlite }
    dlq: { type: file }
  fine:
    source: { type: file, path: x.jsonl }
    dedup: { type: redis, url: "redis://:\${REDIS_PASSWORD}@127.0.0.1:6379" }
    graph: { type: neo4j, user: neo4j, password_file: secrets/neo4j }
    metrics: { type: postgres, password: "\${PG_PASSWORD:-dev-only}", url: "postgres://u@h/db" }
    dlq: { type: file }
  aliased:
    source: { type: kafka, sasl: &auth { mechanism: plain, username: u, password: "\${KP}" } }
    dedup: { type: memory }
    graph: { type: sqlite }
    metrics: { type: sqlite }
    dlq: { type: kafka, sasl: *auth }
`,
    { REDIS_PASSWORD: "from-the-env", KP: "kafka-from-the-env" },
  );
  const rel = (e: { line: number; column: number; path: string; message: string }) => ({
    ...e,
    line: e.line - lines,
  });
  assert.deepEqual(errors.map(({ file: _, ...e }) => rel(e)), [
    {
      line: 3,
      column: 32,
      path: "targets.literal.dedup.url",
      message: "the password in this URL must not be written in the spec: take it from the " +
        'environment ("${VAR}") or name a file holding it (password_file)',
    },
    {
      line: 4,
      column: 50,
      path: "targets.literal.graph.password",
      message: "a password must not be written in the spec: take it from the environment " +
        '("${VAR}") or name a file holding it (password_file)',
    },
  ]);
  assert.doesNotMatch(formatErrors(errors), /hunter2/);
});

Deno.test("*_file settings resolve against the spec's folder; absolute ones stay", async () => {
  const { spec, errors, dir } = await withTargets(`  files:
    source:
      type: kafka
      sasl: { mechanism: plain, username: u, password_file: secrets/kafka }
      ssl: { ca_file: /etc/ssl/ca.pem, cert_file: tls/client.pem, key_file: tls/client.key }
${SINKS}
    dedup: { type: memory }
`);
  assert.deepEqual(errors, []);
  const source = spec!.spec.targets.files.source as unknown as Record<
    string,
    Record<string, string>
  >;
  assert.equal(source.sasl.password_file, join(dir, "secrets/kafka"));
  assert.deepEqual(source.ssl, {
    ca_file: "/etc/ssl/ca.pem",
    cert_file: join(dir, "tls/client.pem"),
    key_file: join(dir, "tls/client.key"),
  });
});

Deno.test("auth and TLS settings are checked: one password source, TLS files that fit", async () => {
  const { errors, lines } = await withTargets(
    `  bad:
    source:
      type: kafka
      sasl: { mechanism: plain, username: u }
      ssl: { cert_file: c.pem }
    dedup: { type: redis, url: "redis://h:1", ca_file: ca.pem }
    graph: { type: neo4j, uri: "neo4j+s://h", encrypted: true, password: "\${P}", password_file: f }
    metrics: { type: postgres, sslmode: require, ca_file: ca.pem }
    dlq: { type: file }
`,
    { P: "secret-from-env" },
  );
  assert.deepEqual(errors.map((e) => `${e.line - lines} ${e.path}: ${e.message}`), [
    "4 targets.bad.source.sasl: give the SASL password as password or password_file (exactly one)",
    "5 targets.bad.source.ssl: cert_file and key_file go together",
    '6 targets.bad.dedup.ca_file: ca_file needs a TLS URL ("rediss://")',
    "7 targets.bad.graph.encrypted: a +s or +ssc URI is already encrypted: leave out encrypted " +
    "and ca_file",
    "7 targets.bad.graph.password_file: give the password as password or password_file, not both",
    "8 targets.bad.metrics.ca_file: ca_file verifies the server: it needs sslmode verify-full " +
    "(or no sslmode)",
  ]);
});

Deno.test("a validation error that quotes a value masks the secret in it", async () => {
  const secret = `s3cr3t-${crypto.randomUUID()}`;
  const { errors } = await withTargets(
    `  oops:
    source: { type: file, path: x.jsonl }
    dedup: { type: memory, max_entries: "postgres://ics:\${PG_PASSWORD}@db.example.com:5432/x" }
${SINKS}
`,
    { PG_PASSWORD: secret },
  );
  const text = formatErrors(errors);
  assert.match(text, /targets\.oops\.dedup\.max_entries .*"postgres:\/\/ics:\*\*\*@db\.example/);
  assert.ok(!text.includes(secret), text);
  // The value is long enough to be shortened: redacted before, no prefix of the secret shows.
  assert.ok(!text.includes(secret.slice(0, 10)), text);
});
