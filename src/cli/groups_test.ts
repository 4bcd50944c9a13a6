/**
 * The flag groups several commands share (`_common.ts`, `_kafka.ts`): each command that takes a
 * group takes the very same declarations, and the flags do the same on each of them. Run in
 * process against one embedded run of the bundled samples.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { capture } from "./_capture.ts";
import { commands, main } from "./main.ts";
import {
  DRY_RUN,
  EVALUATION,
  JSON_OUTPUT,
  QUIET,
  READ,
  SELECTION,
  SPEC,
  STORE,
  TIME_TRAVEL,
} from "./_common.ts";
import { KAFKA } from "./_kafka.ts";
import type { Flags } from "./_flags.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const SPEC_FILE = join(ROOT, "pipeline.yaml");
const ics = (...args: string[]) => capture({ main }, ...args, "--spec", SPEC_FILE);

/** The commands that take every flag of `group`, as declared there (the same objects). */
function takers(group: Flags): string[] {
  return Object.values(commands).map(({ cli }) => cli).filter((cli) =>
    Object.entries(group).every(([name, flag]) => (cli.flags as Flags)[name] === flag)
  ).map((cli) => cli.name).sort();
}

/** What a command needs besides flags to get as far as its flags. */
const ARGS: Record<string, string[]> = {
  explain: ["Task:it-0001:build", "Task:it-0001:test"],
  dlq: ["redrive"],
  replay: ["--from", "earliest"],
  schemas: ["check"],
};

const ref = (e: { label: string; iteration_id: string; key: string[] }) =>
  `${e.label}:${e.iteration_id}:${e.key.join("|")}`;

let state: Promise<string> | undefined;
/** A state folder holding one run of the samples (made once, for the tests that read it). */
function ran(): Promise<string> {
  return state ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "ics-groups-" });
    const run = await ics("run", "--state", dir, "--quiet");
    assert.equal(run.code, 0, run.stderr);
    return dir;
  })();
}

Deno.test({
  name: "STORE: every command on a target's stores refuses an unknown --target with one line",
  async fn() {
    const names = takers(STORE);
    assert.deepEqual(names, [
      "checksum",
      "dlq",
      "explain",
      "links",
      "query",
      "recorrelate",
      "replay",
      "run",
      "serve",
    ]);
    for (const name of names) {
      const out = await ics(name, ...ARGS[name] ?? [], "--target", "lcoal");
      assert.equal(out.code, 2, `${name}: ${out.stderr}`);
      assert.equal(
        out.stderr,
        `ics ${name}: target "lcoal" is not defined in ${SPEC_FILE} (did you mean "local"?); ` +
          "targets: local, services",
      );
    }
  },
});

Deno.test("KAFKA: every Kafka command refuses a target without a Kafka source", async () => {
  const names = takers(KAFKA);
  assert.deepEqual(names, ["produce", "schemas", "topics"]);
  for (const name of names) {
    const out = await ics(name, ...ARGS[name] ?? [], "--target", "local");
    assert.equal(out.code, 2, `${name}: ${out.stderr}`);
    assert.equal(out.stderr, `ics ${name}: target "local" does not have a Kafka source`);
  }
  // Every command that reads a spec takes --spec as declared once.
  assert.equal(takers(SPEC).length, Object.keys(commands).length - 1, "all but schema");
});

Deno.test("SELECTION: checksum and recorrelate work on the iterations selected", async () => {
  assert.deepEqual(takers(SELECTION), ["checksum", "recorrelate"]);
  const dir = await ran();
  const selections: [string[], number][] = [
    [[], 3],
    [["--prefix", "it-0001"], 1],
    [["--iteration", "it-0001", "--iteration", "it-0002"], 2],
    [["--iteration", "it-0001", "--iteration", "it-0002", "--prefix", "it-0002"], 1],
  ];
  for (const [flags, n] of selections) {
    const sum = await ics("checksum", "--state", dir, "--json", ...flags);
    assert.equal(JSON.parse(sum.stdout).iterations, n, `checksum ${flags.join(" ")}`);
    const re = await ics("recorrelate", "--state", dir, "--dry-run", ...flags);
    assert.match(re.stdout, new RegExp(`^would recorrelate ${n} iteration\\(s\\)`), re.stderr);
  }
});

Deno.test("READ and TIME_TRAVEL: links, query and explain see the graph as of a time", async () => {
  assert.deepEqual(takers(READ), ["links", "query"]);
  assert.deepEqual(takers(TIME_TRAVEL), ["explain", "links", "query"]);
  const dir = await ran();
  const links = (...flags: string[]) =>
    ics("links", "--state", dir, ...flags).then((o) => o.stdout.split("\n").filter(Boolean));
  const all = await links();
  assert.equal(all.length, 65);
  const one = await links("--iteration", "it-0001");
  assert.ok(one.length > 0 && one.length < all.length);
  assert.ok(one.every((line) => JSON.parse(line).from.iteration_id === "it-0001"));
  // Nothing was known at the epoch, and everything is known now.
  assert.deepEqual(await links("--known-at", "0"), []);
  assert.equal((await links("--known-at", String(Date.now()))).length, 65);
  const query = await ics("query", "--state", dir, "--json", "--known-at", "1970-01-01");
  assert.deepEqual(JSON.parse(query.stdout), {});
  const [a, b] = [JSON.parse(all[0]).from, JSON.parse(all[0]).to];
  const now = await ics("explain", ref(a), ref(b), "--state", dir);
  assert.equal(now.code, 0, now.stderr);
  const then = await ics("explain", ref(a), ref(b), "--state", dir, "--known-at", "0");
  assert.equal(then.stderr, `ics explain: entity "${ref(a)}" is not in the graph`);
});

Deno.test("JSON_OUTPUT: --json makes each command print JSON", async () => {
  const names = takers(JSON_OUTPUT);
  assert.deepEqual(names, ["checksum", "dlq", "explain", "query", "test"]);
  const dir = await ran();
  const [link] = (await ics("links", "--state", dir)).stdout.split("\n");
  const args: Record<string, string[]> = {
    ...ARGS,
    explain: [ref(JSON.parse(link).from), ref(JSON.parse(link).to)],
    dlq: ["redrive", "--dry-run"],
  };
  for (const name of names) {
    const where = name === "test" ? [] : ["--state", dir];
    const out = await ics(name, ...args[name] ?? [], ...where, "--json");
    assert.equal(out.code, 0, `${name}: ${out.stderr}`);
    assert.doesNotThrow(() => JSON.parse(out.stdout), `${name}: ${out.stdout}`);
  }
});

Deno.test("QUIET and DRY_RUN: quiet commands print nothing, dry runs write nothing", async () => {
  assert.deepEqual(takers(QUIET), ["replay", "run"]);
  assert.deepEqual(takers(DRY_RUN), ["dlq", "recorrelate"]);
  const fresh = await Deno.makeTempDir({ prefix: "ics-groups-quiet-" });
  try {
    for (const name of takers(QUIET)) {
      const out = await ics(name, ...ARGS[name] ?? [], "--state", join(fresh, name), "--quiet");
      assert.equal(out.code, 0, `${name}: ${out.stderr}`);
      assert.equal(out.stdout, "", name);
    }
  } finally {
    await Deno.remove(fresh, { recursive: true });
  }
  const dir = await ran();
  const files = async () => {
    const out: string[] = [];
    for await (const e of Deno.readDir(dir)) {
      out.push(`${e.name} ${(await Deno.stat(join(dir, e.name))).mtime?.getTime()}`);
    }
    return out.sort();
  };
  const before = await files();
  const sum = (await ics("checksum", "--state", dir)).stdout;
  for (const args of [["recorrelate"], ["dlq", "redrive"]]) {
    const out = await ics(...args, "--state", dir, "--dry-run");
    assert.equal(out.code, 0, out.stderr);
  }
  assert.deepEqual(await files(), before, "the state folder is as it was");
  assert.equal((await ics("checksum", "--state", dir)).stdout, sum);
});

Deno.test("EVALUATION: plan and quality read the same corpus flag and report format", async () => {
  assert.deepEqual(takers({ format: EVALUATION.format }), ["plan", "quality"]);
  for (const args of [["plan", "--base", ROOT], ["quality"]]) {
    const missing = await ics(...args, "--corpus", "/nonexistent.jsonl");
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, `ics ${args[0]}: corpus "/nonexistent.jsonl" is not a file`);
    const json = await ics(...args, "--format", "json");
    assert.ok(json.code === 0 || json.code === 1, json.stderr);
    assert.match(JSON.parse(json.stdout).corpus.path ?? JSON.parse(json.stdout).corpus, /events/);
  }
});

Deno.test({
  name: "the shared run's state folder is removed",
  async fn() {
    if (state) await Deno.remove(await state, { recursive: true });
  },
});
