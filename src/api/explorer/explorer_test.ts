/**
 * The explorer's files as served beside `/graphql`: the page, its module and stylesheet, cytoscape
 * from the npm package, each under the Content-Security-Policy, sized and tagged by their bytes.
 * The page in a browser: tests/explorer_test.ts.
 */
import assert from "node:assert/strict";
import { unreadDeadLetters } from "../_dead_letters.ts";
import { loadRootSpec, LOCAL } from "../_testing.ts";
import type { GraphStore } from "../../core/component.ts";
import { createApi } from "../mod.ts";
import { CONTENT_SECURITY_POLICY, cytoscapeFile, explorerHandler } from "./mod.ts";

const spec = await loadRootSpec();
const explorer = explorerHandler(spec);
const get = (path: string, init?: RequestInit) =>
  explorer.handle(new Request(`http://127.0.0.1${path}`, init));

Deno.test("explorer: the page, its module, stylesheet and cytoscape, under a strict CSP", async () => {
  for (
    const [path, type] of [
      ["/", /^text\/html/],
      ["/index.html", /^text\/html/],
      ["/explorer/explorer.js", /^text\/javascript/],
      ["/explorer/explorer.css", /^text\/css/],
      ["/explorer/cytoscape.mjs", /^text\/javascript/],
      ["/explorer/streams.json", /^application\/json/],
    ] as const
  ) {
    const r = (await get(path))!;
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get("content-type")!, type);
    assert.equal(r.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const bytes = new Uint8Array(await r.arrayBuffer());
    assert.equal(Number(r.headers.get("content-length")), bytes.byteLength, path);
  }
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'/);
  assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
  // The page has no inline script or style: everything it runs comes from a file.
  const page = await (await get("/"))!.text();
  assert.doesNotMatch(page, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(page, /<style|style=/);
  assert.doesNotMatch(page, /https?:\/\//);
});

Deno.test("explorer: lengths and tags are of the bytes sent (non-ASCII text)", async () => {
  const r = (await get("/explorer/explorer.js"))!;
  const sent = new Uint8Array(await r.arrayBuffer());
  const text = new TextDecoder().decode(sent);
  // The module has characters of several bytes ("…", "≥", "–"): characters undercount it.
  assert.ok(text.length < sent.byteLength);
  const file = await Deno.readFile(new URL("./explorer.js", import.meta.url));
  assert.deepEqual(sent, file);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", file));
  const hex = [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(r.headers.get("etag"), `"${hex}"`);
  const again = (await get("/explorer/explorer.js", { headers: { "if-none-match": `"${hex}"` } }))!;
  assert.equal(again.status, 304);
  assert.equal(await again.text(), "");
  const head = (await get("/", { method: "HEAD" }))!;
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assert.ok(Number(head.headers.get("content-length")) > 0);
  const post = (await get("/", { method: "POST" }))!;
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("explorer: cytoscape is the npm package's file; streams name each label's stream", async () => {
  const file = cytoscapeFile();
  assert.match(file, /cytoscape.*dist\/cytoscape\.esm\.min\.mjs$/);
  const served = new Uint8Array(await (await get("/explorer/cytoscape.mjs"))!.arrayBuffer());
  assert.deepEqual(served, await Deno.readFile(file));
  const streams = await (await get("/explorer/streams.json"))!.json();
  assert.deepEqual(streams.streams, ["dde", "bdv", "acc"]);
  assert.equal(streams.labels.Task, "dde");
  assert.equal(streams.labels.Scenario, "bdv");
  assert.equal(streams.labels.Module, "acc");
  assert.equal(await get("/metrics"), undefined);
  assert.equal(await get("/explorer/other.js"), undefined);
});

Deno.test("explorer: the API serves it at / unless told not to; /graphql is unchanged", async () => {
  const store = {} as GraphStore;
  const deadLetters = unreadDeadLetters("none");
  const on = createApi({ spec, store, deadLetters, token: "" });
  const off = createApi({ spec, store, deadLetters, token: "", explorer: false });
  const page = (await on.handle(new Request("http://127.0.0.1/"), LOCAL))!;
  assert.equal(page.status, 200);
  await page.body?.cancel();
  assert.equal(await off.handle(new Request("http://127.0.0.1/"), LOCAL), undefined);
});
