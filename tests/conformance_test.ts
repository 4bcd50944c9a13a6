/**
 * The conformance suite, bounded (issue #10): corpora generated from EVENTS.md alone (not from
 * ics's samples or benchmark corpus) run through the embedded target, and every property must hold
 * on each. A fixed seed, so a failure is reproducible; `ICS_CONFORMANCE_SEED` and
 * `ICS_CONFORMANCE_RUNS` change it, `deno task conformance` runs long. A failure prints its shrunk
 * counterexample as JSON lines and the file holding them (`deno task run --input FILE` replays it).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { loadSpec } from "../src/compiler/mod.ts";
import { createDecoder } from "../src/codecs/mod.ts";
import {
  checkProperty,
  corpusModel,
  createRunner,
  DISJOINT,
  formatFailure,
  namesItsSubject,
  PROPERTIES,
  type Property,
  tokens,
  TYPES,
} from "./conformance/mod.ts";

const root = new URL("..", import.meta.url).pathname;
const SEED = Number(Deno.env.get("ICS_CONFORMANCE_SEED") ?? 20_251_010);
const RUNS = Number(Deno.env.get("ICS_CONFORMANCE_RUNS") ?? 25);
/** Shrinking a failure stops after this long; the best counterexample so far is printed. */
const SHRINK_MS = 5_000;

const { spec, errors } = await loadSpec(join(root, "pipeline.yaml"));
if (!spec) throw new Error(`pipeline.yaml does not load: ${JSON.stringify(errors)}`);
const runner = createRunner(spec);

Deno.test("conformance: the generator's events are contract-valid and name what they are about", () => {
  const decode = createDecoder(spec);
  const types = new Set<string>();
  for (const model of fc.sample(corpusModel(), { seed: SEED, numRuns: RUNS })) {
    const corpus = runner.corpusOf(model);
    corpus.lines.forEach((line, i) => {
      const event = JSON.parse(line);
      types.add(event.event_type);
      assert.ok(namesItsSubject(event), `line ${i + 1} names nothing it is about: ${line}`);
      const d = decode({
        value: new TextEncoder().encode(line),
        format: "json",
        position: { kind: "file", path: "-", line: i + 1 },
      });
      assert.ok(d.ok, `line ${i + 1} is not a valid event: ${!d.ok && d.reason}\n${line}`);
    });
    for (const r of corpus.resends) assert.equal(corpus.lines[r.line - 1], corpus.lines[r.of - 1]);
    const ids = corpus.lines.map((l) => JSON.parse(l).event_id);
    assert.equal(new Set(ids).size, ids.length - corpus.resends.length, "event ids are unique");
  }
  assert.deepEqual([...types].sort(), Object.keys(TYPES).sort(), "every event type is generated");
});

Deno.test("conformance: vocabularies that rules compare share no word", () => {
  for (const [what, a, b] of DISJOINT) {
    const words = new Set(a.flatMap(tokens));
    const shared = b.flatMap(tokens).filter((t) => words.has(t));
    assert.deepEqual(shared, [], what);
  }
});

for (const property of Object.keys(PROPERTIES) as Property[]) {
  Deno.test(`conformance: ${PROPERTIES[property]} (seed ${SEED}, ${RUNS} corpora)`, async () => {
    const failure = await checkProperty(runner, property, {
      seed: SEED,
      runs: RUNS,
      timeLimitMs: SHRINK_MS,
    });
    if (failure) assert.fail(formatFailure(failure));
  });
}
