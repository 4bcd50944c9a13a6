import assert from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "./errors.ts";
import { readSecret, readTls, redact, rememberSecret, rememberSecretsIn } from "./secrets.ts";

// Each test plants its own random secrets: the registry is process-wide.
const fresh = (tag: string) => `${tag}-${crypto.randomUUID()}`;

Deno.test("redact() masks URL passwords of any scheme, and nothing else of the URL", () => {
  assert.equal(
    redact('Postgres at "postgres://ics:pa55word@db:5432/test" is unavailable'),
    'Postgres at "postgres://ics:***@db:5432/test" is unavailable',
  );
  assert.equal(redact("rediss://:pa55word@cache:6380/0"), "rediss://:***@cache:6380/0");
  assert.equal(redact("https://u:p%40ss@registry/apis"), "https://u:***@registry/apis");
  // No password: unchanged (a user alone, a port, an e-mail address).
  for (
    const text of [
      "postgres://postgres@127.0.0.1:5432/test",
      "bolt://127.0.0.1:7687",
      "http://host:8080/path@x",
      "write to ops@example.com",
    ]
  ) assert.equal(redact(text), text);
});

Deno.test("redact() masks every remembered secret, also URL-encoded, longest first", () => {
  const secret = fresh("s3cr3t/with&chars");
  rememberSecret(secret);
  rememberSecret(`${secret}-longer`);
  rememberSecret("abc"); // too short to be masked: it would mask ordinary words
  const text = `auth failed for ${secret}; in a URL: ${encodeURIComponent(secret)}; ` +
    `${secret}-longer; abc`;
  assert.equal(redact(text), "auth failed for ***; in a URL: ***; ***; abc");
});

Deno.test("rememberSecretsIn() finds password values and URL passwords in a config tree", () => {
  const [a, b, c] = [fresh("a"), fresh("b"), fresh("c")];
  rememberSecretsIn({
    targets: {
      t: {
        graph: { type: "neo4j", password: a, user: "neo4j" },
        metrics: { url: `postgres://u:${encodeURIComponent(b)}@h/db` },
        source: { sasl: [{ password: c }] },
      },
    },
  });
  assert.equal(redact(`${a} ${b} ${c}`), "*** *** ***");
});

Deno.test("readSecret() reads a secret file without its line end, remembers it, never shows it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-secret-" });
  try {
    const secret = fresh("f1le");
    const file = join(dir, "neo4j");
    await Deno.writeTextFile(file, `${secret}\n`);
    assert.equal(await readSecret(undefined, file, "neo4j password_file"), secret);
    assert.equal(redact(`oops ${secret}`), "oops ***");
    // A value is passed through (and remembered); no file, no value: none.
    const value = fresh("env");
    assert.equal(await readSecret(value, undefined, "x"), value);
    assert.equal(redact(value), "***");
    assert.equal(await readSecret(undefined, undefined, "x"), undefined);
    // A missing file is a one-line user error naming the setting and the file.
    await assert.rejects(
      () => readSecret(undefined, join(dir, "missing"), "neo4j password_file"),
      (e: Error) =>
        e instanceof UserError &&
        e.message === `neo4j password_file: file "${join(dir, "missing")}" does not exist`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTls() reads the PEM files and treats the private key as a secret", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-tls-" });
  try {
    const key = `-----BEGIN PRIVATE KEY-----\n${fresh("key")}\n-----END PRIVATE KEY-----\n`;
    await Deno.writeTextFile(join(dir, "ca.pem"), "CA");
    await Deno.writeTextFile(join(dir, "key.pem"), key);
    const tls = await readTls(
      { ca_file: join(dir, "ca.pem"), key_file: join(dir, "key.pem") },
      "t",
    );
    assert.deepEqual(tls, { ca: "CA", key });
    assert.equal(redact(key.trim()), "***");
    assert.deepEqual(await readTls({}, "t"), {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
