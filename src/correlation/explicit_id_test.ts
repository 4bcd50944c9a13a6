import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
import { explicit_id } from "./explicit_id.ts";

const config = {
  id: "contract-id",
  kind: "explicit_id",
  description: "A bdv scenario and a dde contract carry the same contract id.",
  left: { entity: "Scenario", field: "contract_id" },
  right: { entity: "Contract", field: "contract_id" },
};
const rule = explicit_id.create(explicit_id.schema.parse(config));

Deno.test("explicit_id fires with full confidence on equal identifiers after trimming", () => {
  const result = rule.evaluate(
    entity("Scenario", { contract_id: " ctr-1 " }),
    entity("Contract", { contract_id: "ctr-1" }),
  );
  assert.deepEqual(result, {
    fired: true,
    score: 1,
    matched: { left: "ctr-1", right: "ctr-1" },
    reason: '"ctr-1" equals "ctr-1"',
  });
});

Deno.test("explicit_id does not fire on a different identifier, nor on a case change by default", () => {
  const left = entity("Scenario", { contract_id: "ctr-1" });
  const other = rule.evaluate(left, entity("Contract", { contract_id: "ctr-2" }));
  assert.equal(other?.fired, false);
  assert.equal(other?.score, 0);
  assert.equal(other?.reason, '"ctr-1" differs from "ctr-2"');
  assert.equal(rule.evaluate(left, entity("Contract", { contract_id: "CTR-1" }))?.fired, false);
});

Deno.test("explicit_id ignores case when case_sensitive is false", () => {
  const loose = explicit_id.create(explicit_id.schema.parse({ ...config, case_sensitive: false }));
  const left = entity("Scenario", { contract_id: "CTR-1" });
  const right = entity("Contract", { contract_id: "ctr-1" });
  assert.equal(loose.evaluate(left, right)?.fired, true);
  assert.deepEqual(loose.keys("left", left), loose.keys("right", right));
});

Deno.test("explicit_id keys of a matching pair intersect whichever side comes first", () => {
  const left = rule.keys("left", entity("Scenario", { contract_id: "ctr-1 " }));
  const right = rule.keys("right", entity("Contract", { contract_id: "ctr-1" }));
  assert.deepEqual(left, ["ctr-1"]);
  assert.ok(left.some((k) => right.includes(k)));
});

Deno.test("explicit_id has no keys and does not apply when the field is missing or empty", () => {
  assert.deepEqual(rule.keys("left", entity("Scenario", {})), []);
  assert.deepEqual(rule.keys("right", entity("Contract", { contract_id: "  " })), []);
  assert.equal(
    rule.evaluate(entity("Scenario", {}), entity("Contract", { contract_id: "ctr-1" })),
    null,
  );
});

Deno.test("explicit_id compares numbers as text", () => {
  const result = rule.evaluate(
    entity("Scenario", { contract_id: 42 }),
    entity("Contract", { contract_id: "42" }),
  );
  assert.equal(result?.fired, true);
});

Deno.test("explicit_id schema defaults confidence to 1 and case_sensitive to true", () => {
  const parsed = explicit_id.schema.parse(config);
  assert.equal(parsed.confidence, 1);
  assert.equal(parsed.case_sensitive, true);
  assert.equal(rule.confidence, 1);
  assert.deepEqual(rule.fields, { left: ["contract_id"], right: ["contract_id"] });
  assert.equal(rule.left, "Scenario");
  assert.equal(rule.right, "Contract");
});

Deno.test("explicit_id schema rejects a bad id, an unknown key and a confidence above 1", () => {
  const paths = (input: unknown) =>
    explicit_id.schema.safeParse(input).error?.issues.map((i) => i.path.join(".") || i.code);
  assert.deepEqual(paths({ ...config, id: "Contract ID" }), ["id"]);
  assert.deepEqual(paths({ ...config, confidence: 1.5 }), ["confidence"]);
  assert.deepEqual(paths({ ...config, threshold: 0.5 }), ["unrecognized_keys"]);
  assert.deepEqual(paths({ ...config, description: " " }), ["description"]);
  assert.deepEqual(paths({ ...config, left: { entity: "Scenario" } }), ["left.field"]);
});
