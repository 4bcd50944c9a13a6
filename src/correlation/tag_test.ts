import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
import { tag } from "./tag.ts";
import { repoUrl, runWithin } from "../../tests/_deadline.ts";

const scenario = (...tags: string[]) => entity("Scenario", { tags });
const contract = (name?: string, version?: string) =>
  entity("Contract", { contract_name: name, contract_version: version });

const config = {
  id: "contract-tag",
  kind: "tag",
  description: "A scenario tagged @contract:NAME:VERSION exercises that contract.",
  left: {
    entity: "Scenario",
    field: "tags",
    pattern: "@contract:{contract_name}:{contract_version}",
  },
  right: { entity: "Contract" },
};
const rule = tag.create(tag.schema.parse(config));
const intersects = (a: string[], b: string[]) => a.some((k) => b.includes(k));

Deno.test("tag fires when a tag names the entity's properties", () => {
  const result = rule.evaluate(
    scenario("@smoke", "@contract:UserAPI:v1"),
    contract("UserAPI", "v1"),
  );
  assert.deepEqual(result, {
    fired: true,
    score: 0.8,
    matched: {
      left: "@contract:UserAPI:v1",
      right: { contract_name: "UserAPI", contract_version: "v1" },
    },
    reason: 'tag "@contract:UserAPI:v1" names contract_name "UserAPI", contract_version "v1"',
  });
});

Deno.test("tag compares values case-insensitively by default", () => {
  assert.equal(
    rule.evaluate(scenario("@Contract:userapi:V1"), contract("UserAPI", "v1"))?.fired,
    true,
  );
  const strict = tag.create(tag.schema.parse({ ...config, case_sensitive: true }));
  assert.equal(
    strict.evaluate(scenario("@contract:userapi:v1"), contract("UserAPI", "v1"))?.fired,
    false,
  );
});

Deno.test("tag does not fire on another version and says which value differs", () => {
  const result = rule.evaluate(scenario("@contract:UserAPI:v2"), contract("UserAPI", "v1"));
  assert.equal(result?.fired, false);
  assert.equal(result?.score, 0);
  assert.equal(result?.reason, 'tag "@contract:UserAPI:v2" names contract_version "v2", not "v1"');
});

Deno.test("tag does not fire when no tag matches the pattern", () => {
  const result = rule.evaluate(
    scenario("@req:REQ-42", "@contract:UserAPI:v1:extra"),
    contract("UserAPI", "v1"),
  );
  assert.equal(result?.fired, false);
  assert.equal(
    result?.reason,
    'no tag matches the pattern "@contract:{contract_name}:{contract_version}"',
  );
});

Deno.test("tag keys of a matching pair intersect whichever side comes first", () => {
  const left = rule.keys(
    "left",
    scenario("@smoke", "@contract:UserAPI:v1", "@contract:Billing:v3"),
  );
  assert.deepEqual(left, ["userapi\u0000v1", "billing\u0000v3"]);
  assert.ok(intersects(left, rule.keys("right", contract("UserAPI", "v1"))));
  assert.ok(!intersects(left, rule.keys("right", contract("UserAPI", "v2"))));
});

Deno.test("tag has no keys and does not apply when a field is missing", () => {
  assert.deepEqual(rule.keys("left", entity("Scenario", {})), []);
  assert.deepEqual(rule.keys("right", contract("UserAPI")), []);
  assert.equal(rule.evaluate(entity("Scenario", {}), contract("UserAPI", "v1")), null);
  assert.equal(rule.evaluate(scenario("@contract:UserAPI:v1"), contract("UserAPI")), null);
});

Deno.test("tag accepts a single string as the tag field", () => {
  const left = entity("Scenario", { tags: "@contract:UserAPI:v1" });
  assert.equal(rule.evaluate(left, contract("UserAPI", "v1"))?.fired, true);
});

Deno.test("tag placeholders stop at the pattern's separators, not at other punctuation", () => {
  const req = tag.create(tag.schema.parse({
    ...config,
    left: { entity: "Scenario", field: "tags", pattern: "@req:{requirement_id}" },
    right: { entity: "Requirement" },
  }));
  const left = req.keys("left", scenario("@req:REQ-42", "@req:a:b"));
  assert.deepEqual(left, ["req-42"]);
  assert.deepEqual(req.fields, { left: ["tags"], right: ["requirement_id"] });
});

Deno.test("tag schema derives the right side's fields and defaults confidence to 0.8", () => {
  const parsed = tag.schema.parse(config);
  assert.equal(parsed.confidence, 0.8);
  assert.equal(parsed.case_sensitive, false);
  assert.deepEqual(rule.fields, { left: ["tags"], right: ["contract_name", "contract_version"] });
  const listed = {
    ...config,
    right: { entity: "Contract", fields: ["contract_version", "contract_name"] },
  };
  assert.ok(tag.schema.safeParse(listed).success);
});

Deno.test("tag schema rejects patterns without usable placeholders", () => {
  const messages = (pattern: string) =>
    tag.schema.safeParse({ ...config, left: { ...config.left, pattern } }).error?.issues.map((i) =>
      i.message
    );
  assert.deepEqual(messages("@contract"), ['pattern "@contract" has no {placeholder}']);
  assert.deepEqual(messages("@c:{contract name}"), [
    'placeholder "{contract name}" is not an identifier (letters, digits and _)',
  ]);
  assert.deepEqual(messages("@c:{a}:{a}"), ['placeholder "{a}" appears twice']);
  assert.deepEqual(messages("@c:{a}{b}"), [
    "placeholders must be separated by literal text, e.g. {name}:{version}",
  ]);
  assert.deepEqual(messages("@c:{a}:{b"), ["pattern has an unbalanced { or }"]);
});

Deno.test("tag schema rejects fields that are not the pattern's placeholders", () => {
  const result = tag.schema.safeParse({
    ...config,
    right: { entity: "Contract", fields: ["name"] },
  });
  assert.deepEqual(result.error?.issues.map((i) => i.path), [["right", "fields"]]);
});

// ---- hostile tags ------------------------------------------------------------------------------

const withPattern = (pattern: string, caseSensitive = false) =>
  tag.create(tag.schema.parse({
    ...config,
    left: { entity: "Scenario", field: "tags", pattern },
    right: { entity: "Thing" },
    case_sensitive: caseSensitive,
  }));

Deno.test("tag matching is linear: eight placeholders against adversarial tags finish at once", async () => {
  // As a regular expression, ^(\S+)x(\S+)x...(\S+)!$ backtracks through every way to split the
  // tag: 55 s for 80 characters, ~10^17 steps for 400.
  const pattern = "{a}x{b}x{c}x{d}x{e}x{f}x{g}x{h}!";
  const out = await runWithin(
    30,
    `import { tag } from "${repoUrl("src/correlation/tag.ts")}";
    const rule = tag.create(tag.schema.parse({
      id: "t", kind: "tag", description: "d",
      left: { entity: "Scenario", field: "tags", pattern: ${JSON.stringify(pattern)} },
      right: { entity: "Thing" },
    }));
    const tags = ["x".repeat(80), "x".repeat(400), "ax".repeat(400), "1x2x3x4x5x6x7x8!"];
    const keys = rule.keys("left", { id: "S:1", label: "Scenario", iteration_id: "i", key: ["1"],
      props: { tags }, first_seen: 0, last_seen: 0 });
    console.log(JSON.stringify(keys));`,
  );
  assert.deepEqual(JSON.parse(out), [["1", "2", "3", "4", "5", "6", "7", "8"].join("\u0000")]);
});

Deno.test("an ambiguous placeholder ends at the first occurrence of the text after it", () => {
  // "v" is a letter, so no separator: {name} may hold a "v"; it ends at the first one.
  const rule = withPattern("@api:{name}v{version}");
  assert.deepEqual(rule.keys("left", scenario("@api:userv2v3")), ["user\u00002v3"]);
  const result = rule.evaluate(
    scenario("@api:userv2v3"),
    entity("Thing", { name: "userv2", version: "3" }),
  );
  assert.equal(
    result?.reason,
    'tag "@api:userv2v3" names name "user", not "userv2", version "2v3", not "3"',
  );
  // Separators still bound a value: no ":" in {version}, even where a later literal would fit.
  assert.deepEqual(withPattern("@c:{name}:{version}").keys("left", scenario("@c:a:b:c")), []);
});

Deno.test("a case-insensitive pattern matches its literal text in any case and keeps the values' case", () => {
  const rule = withPattern("@Contract:{name}:{version}");
  const result = rule.evaluate(
    scenario("@CONTRACT:UserAPI:V1"),
    entity("Thing", { name: "userapi", version: "v1" }),
  );
  assert.equal(result?.fired, true);
  assert.equal(result?.reason, 'tag "@CONTRACT:UserAPI:V1" names name "UserAPI", version "V1"');
  // A character whose lower case is longer (İ → i̇) does not shift the values.
  assert.deepEqual(rule.keys("left", scenario("@contract:İstanbul:v1")), ["i̇stanbul\u0000v1"]);
  assert.deepEqual(
    withPattern("@Contract:{name}:{version}", true).keys("left", scenario("@contract:a:b")),
    [],
  );
});

Deno.test("a tag longer than 1000 characters matches no pattern, and the reason says so", () => {
  const long = `@contract:${"A".repeat(1000)}:v1`;
  assert.deepEqual(rule.keys("left", scenario(long)), []);
  const result = rule.evaluate(scenario(long), contract("A".repeat(1000), "v1"));
  assert.equal(result?.fired, false);
  assert.equal(
    result?.reason,
    'no tag matches the pattern "@contract:{contract_name}:{contract_version}" ' +
      "(tags longer than 1000 characters match none)",
  );
  const longest = `@contract:${"A".repeat(1000 - "@contract::v1".length)}:v1`;
  assert.equal(rule.keys("left", scenario(longest)).length, 1);
});
