import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
import fc from "fast-check";
import { file_path } from "./file_path.ts";

const artifact = (path: string) => entity("Artifact", { artifact_path: path });
const module = (name: string) => entity("Module", { module_name: name });

const base = {
  id: "artifact-module",
  kind: "file_path",
  description: "The artifact the DAG built is the module the architecture check analysed.",
  left: { entity: "Artifact", field: "artifact_path" },
  right: { entity: "Module", field: "module_name" },
};
const fuzzy = file_path.create(file_path.schema.parse({ ...base, mode: "fuzzy" }));
const exact = file_path.create(file_path.schema.parse({
  ...base,
  mode: "exact",
  right: { entity: "Module", field: "module_path" },
}));
const intersects = (a: string[], b: string[]) => a.some((k) => b.includes(k));

Deno.test("file_path exact fires on paths equal after normalisation", () => {
  const result = exact.evaluate(
    artifact("./src//api\\user_service.py"),
    entity("Module", { module_path: "src/api/user_service.py" }),
  );
  assert.equal(result?.fired, true);
  assert.equal(result?.score, 0.9);
  assert.equal(
    result?.reason,
    '"src/api/user_service.py" equals "src/api/user_service.py" after normalisation',
  );
});

Deno.test("file_path exact does not fire on a different case or file", () => {
  const right = entity("Module", { module_path: "src/api/user_service.py" });
  assert.equal(exact.evaluate(artifact("src/API/user_service.py"), right)?.fired, false);
  assert.equal(exact.evaluate(artifact("src/api/user_services.py"), right)?.score, 0);
});

Deno.test("file_path exact keys of a matching pair intersect", () => {
  assert.deepEqual(exact.keys("left", artifact("./src//api\\user_service.py")), [
    "src/api/user_service.py",
  ]);
  assert.ok(intersects(
    exact.keys("left", artifact("./src/api/user_service.py")),
    exact.keys("right", entity("Module", { module_path: "src/api/user_service.py" })),
  ));
});

Deno.test("file_path fuzzy links a path to its dotted module name with similarity 1", () => {
  const result = fuzzy.evaluate(artifact("src/api/user_service.py"), module("api.user_service"));
  assert.equal(result?.fired, true);
  assert.equal(result?.score, 0.7);
  assert.deepEqual(result?.detail, { similarity: 1, stem: 1, dirs: 1 });
  assert.equal(
    result?.reason,
    'similarity 1.00 reaches the threshold 0.85 (stems "user_service" and "user_service")',
  );
});

Deno.test("file_path fuzzy links a feature file to the module with the same stem", () => {
  const rule = file_path.create(file_path.schema.parse({
    ...base,
    mode: "fuzzy",
    left: { entity: "Feature", field: "feature_file" },
    right: { entity: "Artifact", field: "artifact_path" },
  }));
  const feature = entity("Feature", { feature_file: "features/user_service.feature" });
  const result = rule.evaluate(feature, artifact("src/api/user_service.py"));
  assert.equal(result?.detail?.similarity, 1);
  assert.equal(result?.fired, true);
});

Deno.test("file_path fuzzy scores a near miss (user_services) at 0.5, not linked", () => {
  const result = fuzzy.evaluate(artifact("src/api/user_service.py"), module("api.user_services"));
  assert.equal(result?.fired, false);
  assert.equal(result?.detail?.similarity, 0.5);
  assert.equal(result?.score, 0.35);
  assert.equal(
    result?.reason,
    'similarity 0.50 is below the threshold 0.85 (stems "user_service" and "user_services")',
  );
});

Deno.test("file_path fuzzy does not link the same file name in another package (0.8)", () => {
  const result = fuzzy.evaluate(
    artifact("src/api/user_service.py"),
    module("billing.user_service"),
  );
  assert.equal(result?.fired, false);
  assert.deepEqual(result?.detail, { similarity: 0.8, stem: 1, dirs: 0 });
  assert.match(result?.reason ?? "", /folders "api" and "billing"/);
});

Deno.test("file_path fuzzy keys block camelCase, snake_case and kebab-case stems together", () => {
  const left = fuzzy.probes!("left", artifact("src/api/UserService.ts"));
  assert.deepEqual(fuzzy.keys("left", artifact("src/api/UserService.ts")), ["K2:service|user"]);
  assert.ok(intersects(left, fuzzy.keys("right", module("api.user-service"))));
  assert.ok(
    intersects(
      fuzzy.probes!("right", module("api.user-service")),
      fuzzy.keys("left", artifact("src/api/UserService.ts")),
    ),
  );
});

Deno.test("file_path fuzzy does not make a candidate of every stem sharing one word", () => {
  const left = fuzzy.probes!("left", artifact("src/api/user_service.py"));
  // At the threshold 0.85 two stems must share two words: one common word cannot reach it.
  for (const other of ["api.user_services", "api.user_api", "orders.order_service", "api.user"]) {
    assert.ok(!intersects(left, fuzzy.keys("right", module(other))), other);
  }
  assert.ok(intersects(left, fuzzy.keys("right", module("billing.user_service"))));
  assert.ok(intersects(left, fuzzy.keys("right", module("api.service_user"))));
  // A one-word stem meets the same word only.
  const user = fuzzy.probes!("left", artifact("src/user.py"));
  assert.ok(intersects(user, fuzzy.keys("right", module("api.user"))));
  assert.ok(!intersects(user, fuzzy.keys("right", module("api.user_service"))));
});

Deno.test("file_path fuzzy finds every pair it fires on that shares a word, at any threshold", () => {
  const stem = fc.array(fc.constantFrom("user", "service", "api", "order", "x1"), {
    minLength: 1,
    maxLength: 6,
  });
  const dirs = fc.array(fc.constantFrom("api", "billing", "src"), { maxLength: 2 });
  // Thresholds just above a score the rounding to 6 decimals lifts to them (2/3 → 0.666667).
  const threshold = fc.oneof(
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.constantFrom(0.85, 0.8, 0.6666668, 0.666667, 0.8571432, 0.5333337, 0.4, 0.25),
  );
  fc.assert(
    fc.property(
      stem,
      dirs,
      stem,
      dirs,
      threshold,
      (a, da, b, db, threshold) => {
        const rule = file_path.create(
          file_path.schema.parse({ ...base, mode: "fuzzy", threshold }),
        );
        const l = artifact([...da, `${a.join("_")}.py`].join("/"));
        const r = module([...db, b.join("_")].join("."));
        // The old blocking: every word of the stem was a key.
        if (!a.some((w) => b.includes(w)) || !rule.evaluate(l, r)?.fired) return;
        assert.ok(intersects(rule.probes!("left", l), rule.keys("right", r)));
        assert.ok(intersects(rule.probes!("right", r), rule.keys("left", l)));
      },
    ),
    { numRuns: 2000, seed: 21 },
  );
});

Deno.test("file_path has no keys and does not apply when the field is missing", () => {
  assert.deepEqual(fuzzy.keys("left", entity("Artifact", {})), []);
  assert.deepEqual(exact.keys("right", entity("Module", { module_path: "" })), []);
  assert.equal(fuzzy.evaluate(entity("Artifact", {}), module("api.user_service")), null);
  assert.equal(exact.evaluate(artifact("a.py"), entity("Module", {})), null);
});

Deno.test("file_path schema defaults confidence by mode", () => {
  const e = file_path.schema.parse({ ...base, mode: "exact" });
  const f = file_path.schema.parse({ ...base, mode: "fuzzy" });
  assert.equal(e.confidence, 0.9);
  assert.equal(f.confidence, 0.7);
  assert.ok(f.mode === "fuzzy");
  assert.equal(f.threshold, 0.85);
  assert.equal(f.ignore_extensions, true);
  assert.deepEqual(f.ignore_dirs, ["src", "lib", "app", "features", "tests", "test"]);
});

Deno.test("file_path fuzzy honours a configured threshold", () => {
  const loose = file_path.create(
    file_path.schema.parse({ ...base, mode: "fuzzy", threshold: 0.8 }),
  );
  assert.equal(
    loose.evaluate(artifact("src/api/user_service.py"), module("billing.user_service"))?.fired,
    true,
  );
});

Deno.test("file_path schema requires a mode and rejects fuzzy options in exact mode", () => {
  const issues = (input: unknown) => file_path.schema.safeParse(input).error?.issues ?? [];
  assert.deepEqual(issues(base).map((i) => i.path), [["mode"]]);
  assert.deepEqual(issues({ ...base, mode: "exact", threshold: 0.9 }).map((i) => i.code), [
    "unrecognized_keys",
  ]);
  assert.deepEqual(issues({ ...base, mode: "fuzzy", threshold: 2 }).map((i) => i.path), [
    ["threshold"],
  ]);
});
