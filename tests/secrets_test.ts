/**
 * Secrets never leave the process: a secret planted in the environment and another in a secret
 * file are used as passwords of services that are configured but down, so every component fails
 * with its own connection error; all output (stdout, stderr, `--help` of every command,
 * `validate`, the dead letters) must name the service and never show a secret. The runs use the
 * exact permissions of `deno task run` (read from deno.json), in a copy of the project whose
 * `.ics` is the only writable folder. No service is needed: the ports are closed.
 * (tests/integration/secrets_test.ts does the same against the real services.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { copy } from "./_copy.ts";
import { main } from "../src/cli/main.ts";
import { capture } from "../src/cli/_capture.ts";

const root = new URL("..", import.meta.url).pathname;
const SECRET = `s3cr3t-${crypto.randomUUID()}`;
const FILE_SECRET = `f1le-s3cr3t-${crypto.randomUUID()}`;

/** The flags of `deno task run`: what a user's run is allowed to do. */
async function taskFlags(): Promise<string[]> {
  const task: string = JSON.parse(await Deno.readTextFile(join(root, "deno.json"))).tasks.run;
  const words = task.split(/\s+/);
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  assert.equal(words.at(-2), "src/cli/main.ts");
  assert.ok(!words.includes("-A") && !words.includes("--allow-all"), task);
  return words.slice(2, -2);
}

/** A port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A project copy whose spec has one target per service, each with a planted secret. */
async function project(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "ics-secrets-" });
  await copy(root, dir, ["pipeline.yaml", "rules", "schemas", "samples"]);
  await Deno.mkdir(join(dir, "secrets"));
  await Deno.writeTextFile(join(dir, "secrets", "service"), `${FILE_SECRET}\n`);
  const down = closedPort();
  const embedded = (role: string) =>
    ({
      source: "source: { type: file, path: samples/events.jsonl }",
      dedup: "dedup: { type: memory }",
      graph: "graph: { type: sqlite }",
      metrics: "metrics: { type: sqlite }",
      dlq: "dlq: { type: file }",
    })[role]!;
  const target = (name: string, role: string, config: string) =>
    `  ${name}:\n` +
    ["source", "dedup", "graph", "metrics", "dlq"]
      .map((r) => `    ${r === role ? `${role}: ${config}` : embedded(r)}\n`).join("");
  const targets = [
    target(
      "redis_url",
      "dedup",
      `{ type: redis, url: "redis://ics:\${ICS_TEST_SECRET}@127.0.0.1:${down}" }`,
    ),
    target(
      "neo4j",
      "graph",
      `{ type: neo4j, uri: "bolt://127.0.0.1:${down}", user: ics, password_file: secrets/service }`,
    ),
    target(
      "postgres",
      "metrics",
      `{ type: postgres, url: "postgres://ics:\${ICS_TEST_SECRET}@127.0.0.1:${down}/test" }`,
    ),
    target(
      "kafka",
      "source",
      `{ type: kafka, brokers: "127.0.0.1:${down}", ` +
        `sasl: { mechanism: scram-sha-512, username: ics, password: "\${ICS_TEST_SECRET}" }, ` +
        `schema_registry: "http://ics:\${ICS_TEST_SECRET}@127.0.0.1:${down}/apis/ccompat/v7" }`,
    ),
  ];
  const file = join(dir, "pipeline.yaml");
  const text = (await Deno.readTextFile(file))
    // Runs against services that are down give up at once instead of waiting for them.
    .replace(/^ {2}startup_timeout_seconds: \d+$/m, "  startup_timeout_seconds: 1");
  assert.match(text, /startup_timeout_seconds: 1\n/);
  await Deno.writeTextFile(file, text.trimEnd() + "\n" + targets.join(""));
  return dir;
}

interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

async function ics(dir: string, flags: string[], args: string[]): Promise<Output> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...flags, "--config", join(root, "deno.json"), join(root, "src/cli/main.ts"), ...args],
    cwd: dir,
    env: { ICS_TEST_SECRET: SECRET, NO_COLOR: "1", ICS_DEBUG: "1" },
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Neither secret, nor a recognisable part of one, in `text`. */
function assertNoSecret(text: string, what: string) {
  for (const secret of [SECRET, FILE_SECRET]) {
    for (const part of [secret, secret.slice(-12), encodeURIComponent(secret)]) {
      assert.ok(!text.includes(part), `${what} shows a secret:\n${text}`);
    }
  }
}

Deno.test({
  name:
    "no secret in any output: --help, validate, runs against services that are down, dead letters",
  // kafkajs keeps a retry timer after its client is dropped.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await project();
    try {
      const flags = await taskFlags();
      const validateFlags = ["run", "--no-prompt", "--allow-read", "--allow-env"];
      const [valid, local, ...failed] = await Promise.all([
        ics(dir, validateFlags, ["validate"]),
        ics(dir, flags, ["run"]),
        // Each in a state folder of its own: one runner per state folder.
        ...["redis_url", "neo4j", "postgres", "kafka"].map((target) =>
          ics(dir, flags, ["run", "--target", target, "--state", `.ics/${target}`])
        ),
      ]);
      assert.equal(valid.code, 0, valid.stderr);
      assert.match(valid.stdout, /pipeline\.yaml: valid/);
      assert.equal(local.code, 0, local.stderr);
      assert.match(local.stdout, /dead letters {2}6 /);

      // Each run gives up waiting for its service with one line naming it, and the URL with its
      // password masked.
      const gaveUp = (role: string) =>
        `^ics run: failed: ${role} did not become available within 1 s ` +
        `\\(runtime\\.startup_timeout_seconds; 0 waits without limit\\): `;
      const expected = [
        new RegExp(
          gaveUp("dedup") +
            'Redis at "redis://ics:\\*\\*\\*@127\\.0\\.0\\.1:\\d+" is unreachable: ',
          "m",
        ),
        new RegExp(gaveUp("graph") + 'Neo4j at "bolt://127\\.0\\.0\\.1:\\d+" failed: ', "m"),
        new RegExp(
          gaveUp("metrics") +
            'Postgres at "postgres://ics:\\*\\*\\*@127\\.0\\.0\\.1:\\d+/test" is unavailable: ',
          "m",
        ),
        new RegExp(gaveUp("source") + "kafka source check: ", "m"),
      ];
      failed.forEach((out, i) => {
        assert.equal(out.code, 3, `${expected[i]}\n${out.stderr}`);
        assert.match(out.stderr, expected[i]);
      });

      // Every command's help, in process (static text, but it is output too).
      const commands = (await capture({ main }, "--help")).stdout;
      const names = [...commands.matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
      assert.ok(names.length >= 13, commands);
      const helps = [commands];
      for (const name of names) {
        const help = await capture({ main }, name, "--help");
        assert.equal(help.code, 0, name);
        helps.push(help.stdout, help.stderr);
      }

      const dlq = await Deno.readTextFile(join(dir, ".ics", "dlq.jsonl"));
      assert.equal(dlq.trim().split("\n").length, 6);
      const runs: Record<string, Output> = { valid, local };
      failed.forEach((out, i) => runs[`failed run ${i}`] = out);
      for (const [what, out] of Object.entries(runs)) {
        assertNoSecret(out.stdout + out.stderr, `output of ${what}`);
      }
      assertNoSecret(helps.join("\n"), "--help");
      assertNoSecret(dlq, "the dead-letter file");
      // Nothing else in the state folders quotes a secret either (checkpoints, SQLite files).
      const files = async function* (folder: string): AsyncGenerator<string> {
        for await (const e of Deno.readDir(folder)) {
          if (e.isDirectory) yield* files(join(folder, e.name));
          else yield join(folder, e.name);
        }
      };
      for await (const file of files(join(dir, ".ics"))) {
        const bytes = await Deno.readFile(file);
        assertNoSecret(new TextDecoder().decode(bytes), file);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a run outside its permissions fails with one line naming the flag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ics-perm-" });
  try {
    const out = await ics(root, await taskFlags(), ["run", "--state", dir]);
    assert.equal(out.code, 2, out.stderr);
    assert.equal(
      out.stderr.trim(),
      `ics run: not permitted: write access to "${dir}" needs Deno's --allow-write ` +
        "(deno task run may write only to .ics)",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
