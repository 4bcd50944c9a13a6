import assert from "node:assert/strict";
import { didYouMean } from "./did_you_mean.ts";

Deno.test("didYouMean() suggests the closest candidate only when it is close enough", () => {
  assert.equal(didYouMean("sourse", ["sink", "source", "sources"]), "source");
  assert.equal(didYouMean("SOURCE", ["source"]), "source");
  assert.equal(didYouMean("suorce", ["source"]), "source"); // a transposition counts once
  assert.equal(didYouMean("brokers", ["broker", "brokers_list"]), "broker");
  assert.equal(didYouMean("ab", ["xy", "ac"]), "ac");
  assert.equal(didYouMean("ab", ["xy"]), undefined);
  assert.equal(didYouMean("colour", ["name", "version"]), undefined);
  assert.equal(didYouMean("x", []), undefined);
});
