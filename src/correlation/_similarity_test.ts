import assert from "node:assert/strict";
import {
  dice,
  dirAgreement,
  moduleSimilarity,
  normalizePath,
  parseModule,
  stemSimilarity,
  wordTokens,
} from "./_similarity.ts";

const options = {
  ignoreDirs: ["src", "lib", "app", "features", "tests", "test"],
  ignoreExtensions: true,
};
const similarity = (a: string, b: string) =>
  moduleSimilarity(parseModule(a, options), parseModule(b, options)).similarity;

Deno.test("normalizePath() strips ./, turns backslashes into slashes and collapses duplicates", () => {
  assert.equal(normalizePath("./src//api\\user_service.py"), "src/api/user_service.py");
  assert.equal(normalizePath("././src/./api/"), "src/api");
  assert.equal(normalizePath("/"), "/");
  assert.equal(normalizePath("Src/API.py"), "Src/API.py");
});

Deno.test("wordTokens() splits on separators and camelCase, lowercased", () => {
  assert.deepEqual(wordTokens("UserService"), ["user", "service"]);
  assert.deepEqual(wordTokens("user-service"), ["user", "service"]);
  assert.deepEqual(wordTokens("UserAPIClient v2"), ["user", "api", "client", "v2"]);
  assert.deepEqual(wordTokens("__init__"), ["init"]);
  assert.deepEqual(wordTokens(""), []);
});

Deno.test("dice() counts tokens as a multiset and gives 0 without tokens", () => {
  assert.equal(dice(["user", "service"], ["user", "services"]), 0.5);
  assert.equal(dice(["a", "a"], ["a"]), 2 / 3);
  assert.equal(dice([], ["a"]), 0);
});

Deno.test("stemSimilarity() is 1 only for equal sequences; a one-letter typo scores 0.5", () => {
  assert.equal(stemSimilarity(["user", "service"], ["user", "service"]), 1);
  assert.equal(stemSimilarity(["user", "service"], ["user", "servise"]), 0.5);
  assert.equal(stemSimilarity(["user", "service"], ["test", "user", "service"]), 0.8);
});

Deno.test("dirAgreement() aligns folders from the stem outwards; no folders is no evidence", () => {
  assert.equal(dirAgreement(["api"], ["billing", "api"]), 1);
  assert.equal(dirAgreement(["core", "api"], ["web", "api"]), 0.5);
  assert.equal(dirAgreement([], ["billing"]), 1);
});

Deno.test("parseModule() reads paths, dotted names and feature files alike", () => {
  assert.deepEqual(parseModule("src/api/user_service.py", options), {
    segments: ["api", "user_service"],
    stem: "user_service",
    words: ["user", "service"],
    dirs: ["api"],
  });
  assert.deepEqual(parseModule("api.user_service", options).segments, ["api", "user_service"]);
  assert.deepEqual(parseModule("src.Api.UserService", options).segments, ["api", "user_service"]);
  assert.deepEqual(parseModule("features/user_service.feature", options).segments, [
    "user_service",
  ]);
  assert.deepEqual(parseModule("user_service.py", options).segments, ["user_service"]);
  assert.deepEqual(parseModule("src/api/__init__.py", options).segments, ["api"]);
});

Deno.test("parseModule() keeps the extension in the stem when told not to ignore it", () => {
  const id = parseModule("src/api/user_service.py", { ...options, ignoreExtensions: false });
  assert.equal(id.stem, "user_service_py");
});

Deno.test("parseModule() never drops the stem itself as an ignored folder", () => {
  assert.deepEqual(parseModule("tests", options).segments, ["tests"]);
});

Deno.test("moduleSimilarity() scores true matches 1 and the near miss user_services 0.5", () => {
  assert.equal(similarity("src/api/user_service.py", "api.user_service"), 1);
  assert.equal(similarity("features/user_service.feature", "src/api/user_service.py"), 1);
  assert.equal(similarity("src/api/user_service.py", "api.user_services"), 0.5);
  assert.equal(similarity("src/api/user_service.py", "billing.user_service"), 0.8);
  assert.equal(similarity("src/api/user_service.py", "core.api.user_service"), 1);
});
