import assert from "node:assert/strict";
import { entity } from "./_testing.ts";
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
  const left = fuzzy.keys("left", artifact("src/api/UserService.ts"));
  assert.deepEqual(left, ["user_service", "t:user", "t:service"]);
  assert.ok(intersects(left, fuzzy.keys("right", module("api.user-service"))));
  // Near misses share a token, so explain can show them.
  assert.ok(intersects(left, fuzzy.keys("right", module("api.user_services"))));
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
