import assert from "node:assert/strict";
import { join } from "node:path";
import { MAX_FILE_BYTES, readConfigFile, shortName } from "./mod.ts";

async function mkfifo(path: string) {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(out.success, "mkfifo");
}

Deno.test("readConfigFile() reads a regular file and refuses what is not one, unread", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const ok = join(dir, "ok.yaml");
    await Deno.writeTextFile(ok, "a: 1\n");
    assert.equal(await readConfigFile(ok, "ok.yaml"), "a: 1\n");

    // A FIFO with no writer would block a read forever; /dev/zero never ends.
    const fifo = join(dir, "fifo.yaml");
    await mkfifo(fifo);
    for (
      const [path, message] of [
        [fifo, "is not a file"],
        ["/dev/zero", "is not a file"],
        [dir, "is not a file"],
        [join(dir, "missing.yaml"), "file cannot be read"],
      ]
    ) {
      assert.deepEqual(await readConfigFile(path, "x.yaml"), {
        file: "x.yaml",
        line: 1,
        column: 1,
        path: "",
        message,
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readConfigFile() refuses a file over its limit and names the limit", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = join(dir, "big.jsonl");
    await Deno.writeTextFile(big, "x".repeat(MAX_FILE_BYTES + 1));
    const error = await readConfigFile(big, "big.jsonl");
    assert.equal(typeof error, "object");
    assert.equal(
      (error as { message: string }).message,
      "file is larger than 1 MiB (1048576 bytes), the limit for spec, rule and schema files",
    );
    const small = await readConfigFile(big, "big.jsonl", "labelled pairs", 1000);
    assert.match(
      (small as { message: string }).message,
      /larger than .*1000 bytes.*labelled pairs/,
    );
    const whole = await readConfigFile(big, "big.jsonl", "labelled pairs", 2 * MAX_FILE_BYTES);
    assert.equal(typeof whole === "string" && whole.length, MAX_FILE_BYTES + 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("shortName() is relative inside the working directory, absolute outside", () => {
  assert.equal(shortName(join(Deno.cwd(), "rules", "a.yaml")), join("rules", "a.yaml"));
  assert.equal(shortName("/"), "/");
});
