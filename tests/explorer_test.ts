/**
 * The explorer page in a real browser (Debian's chromium driven by playwright-core) over `ics serve`
 * on the samples' embedded graph: what it draws is what the API returns, a link's explanation on a
 * click, time travel hides a later link, the view is in the URL, and it needs nothing but its own
 * server (CSP, no other requests). Without chromium the test is ignored, except under CI where it
 * fails. ICS_EXPLORER_SCREENSHOT=docs/explorer.png writes the README's screenshot.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import type { Page } from "playwright-core";
import { samplesState, startServe } from "../src/api/_testing.ts";

// playwright-core asks at load whether it runs under WSL by probing /proc/sys/fs/binfmt_misc, which
// Deno refuses short of --allow-all (NotCapable, even with --allow-read): such a probe answers "no"
// here, and nothing else changes. Hence the dynamic import after it.
const existsSync = fs.existsSync;
fs.existsSync = (path: fs.PathLike) => {
  try {
    return existsSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) return false;
    throw error;
  }
};
const { chromium } = await import("playwright-core");

const CHROMIUM = "/usr/bin/chromium";
const ITERATION = "it-0001";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
const CI = !!Deno.env.get("CI");

interface ApiLink {
  id: string;
  confidence: number;
  validFrom: string;
  observedAt: string;
  rules: { rule: string }[];
  from: { id: string } | null;
  to: { id: string } | null;
}

async function graphql(url: string, query: string, variables: Record<string, unknown> = {}) {
  const r = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** What the API holds for the iteration at a time point: entity ids and links with both ends. */
async function expected(url: string, when: { asOf?: string; knownAt?: string } = {}) {
  const d = await graphql(
    url,
    `query($id: ID!, $asOf: Time, $knownAt: Time) { iteration(id: $id, asOf: $asOf, knownAt: $knownAt) {
      entities(first: 500) { nodes { id } pageInfo { hasNextPage } }
      links(first: 500) { nodes { id confidence validFrom observedAt rules { rule }
        from { id } to { id } } pageInfo { hasNextPage } } } }`,
    { id: ITERATION, ...when },
  );
  const it = d.iteration;
  assert.equal(it.entities.pageInfo.hasNextPage, false);
  assert.equal(it.links.pageInfo.hasNextPage, false);
  const links: ApiLink[] = it.links.nodes.filter((l: ApiLink) => l.from && l.to);
  return { entities: it.entities.nodes.length as number, links };
}

/** Wait until the page has drawn a view, then what it drew. */
async function drawn(page: Page) {
  await page.waitForSelector("#graph[data-state=ready]");
  return await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const cy = (globalThis as any).explorer.cy;
    return {
      entities: cy.nodes().length as number,
      links: cy.edges(".link").map((e: { data(k: string): { id: string } }) =>
        e.data("link").id
      ) as string[],
    };
  });
}

/** Set the time inputs and press Show. */
async function travel(page: Page, asOf: string, knownAt: string) {
  await page.fill("#asOf", asOf);
  await page.fill("#knownAt", knownAt);
  await page.evaluate(() => document.getElementById("graph")!.dataset.state = "stale");
  await page.click("#apply");
}

const before = (iso: string) => new Date(Date.parse(iso) - 1).toISOString();

Deno.test({
  name: "explorer: draws the API's graph, explains a clicked link, time travels, shares its view",
  ignore: !hasChromium && !CI,
  async fn() {
    assert.ok(hasChromium, `${CHROMIUM} is missing (apt-get install chromium; .ci/run does)`);
    const { state } = await samplesState();
    const server = await startServe(state);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => /error|warning/.test(m.type()) && problems.push(m.text()));
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("request", (r) => requests.push(r.url()));

      const response = await page.goto(`${server.url}/?iteration=${ITERATION}`);
      const csp = response!.headers()["content-security-policy"];
      assert.match(csp, /script-src 'self'/);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

      // What is drawn is what the API returns for the iteration.
      const now = await expected(server.url);
      assert.ok(now.entities > 5 && now.links.length > 2, JSON.stringify(now));
      const first = await drawn(page);
      assert.equal(first.entities, now.entities);
      assert.deepEqual(first.links.sort(), now.links.map((l) => l.id).sort());
      assert.match(await page.textContent("#status") ?? "", /entities, \d+ links/);

      // A click on a link (the one farthest from anything else) shows its explanation.
      const target = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const cy = (globalThis as any).explorer.cy;
        type P = { x: number; y: number };
        const points: P[] = [
          ...cy.nodes().map((n: { renderedPosition(): P }) => n.renderedPosition()),
          ...cy.edges().map((e: { renderedMidpoint(): P }) => e.renderedMidpoint()),
        ];
        let best: { id: string; at: P; gap: number } | undefined;
        for (const e of cy.edges(".link")) {
          const at: P = e.renderedMidpoint();
          const gap = Math.min(
            ...points.filter((p) => p !== at && (p.x !== at.x || p.y !== at.y))
              .map((p) => Math.hypot(p.x - at.x, p.y - at.y)),
          );
          if (!best || gap > best.gap) best = { id: e.data("link").id, at, gap };
        }
        return best!;
      });
      const box = (await page.locator("#graph").boundingBox())!;
      await page.mouse.click(box.x + target.at.x, box.y + target.at.y);
      await page.waitForSelector("#explanation");
      const explanation = await page.textContent("#explanation") ?? "";
      const link = now.links.find((l) => l.id === target.id)!;
      for (const r of link.rules) assert.ok(explanation.includes(r.rule), explanation);
      assert.match(explanation, /Evidence/);
      assert.match(explanation, /FIRED/);
      const linkView = page.url();
      assert.equal(new URL(linkView).searchParams.get("selected"), `link:${target.id}`);
      const screenshot = Deno.env.get("ICS_EXPLORER_SCREENSHOT");
      if (screenshot) {
        await page.screenshot({ path: screenshot });
        // The README's image stays small.
        assert.ok(Deno.statSync(screenshot).size < 300_000);
      }
      const shot = await page.screenshot();
      assert.ok(shot.length > 10_000, `screenshot of ${shot.length} bytes`);

      // A node's properties on a click on it.
      const node = await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const n = (globalThis as any).explorer.cy.nodes()[0];
        return { ...n.renderedPosition(), label: n.data("label") as string };
      });
      await page.mouse.click(box.x + node.x, box.y + node.y);
      await page.waitForSelector("#entity-details");
      assert.match(await page.textContent("#entity-details") ?? "", /validFrom/);

      // Time travel: known just before the last-learned link, it is not drawn; likewise for valid
      // time and the link that became true last.
      const learned = now.links.reduce((a, b) => (a.observedAt >= b.observedAt ? a : b));
      await travel(page, "", before(learned.observedAt));
      const known = await drawn(page);
      assert.ok(!known.links.includes(learned.id));
      const knownApi = await expected(server.url, { knownAt: before(learned.observedAt) });
      assert.deepEqual(known.links.sort(), knownApi.links.map((l) => l.id).sort());
      assert.equal(known.entities, knownApi.entities);
      assert.equal(new URL(page.url()).searchParams.get("knownAt"), before(learned.observedAt));

      const valid = now.links.reduce((a, b) => (a.validFrom >= b.validFrom ? a : b));
      await travel(page, before(valid.validFrom), "");
      const asOf = await drawn(page);
      assert.ok(!asOf.links.includes(valid.id));
      const asOfApi = await expected(server.url, { asOf: before(valid.validFrom) });
      assert.deepEqual(asOf.links.sort(), asOfApi.links.map((l) => l.id).sort());

      // The view is in the URL: opened afresh, it shows the same, and the filters apply.
      await page.goto(
        `${server.url}/?iteration=${ITERATION}&asOf=${before(valid.validFrom)}&minConfidence=0.9`,
      );
      const shared = await drawn(page);
      assert.equal(await page.inputValue("#asOf"), before(valid.validFrom));
      assert.deepEqual(
        shared.links.sort(),
        asOfApi.links.filter((l) => l.confidence >= 0.9).map((l) => l.id).sort(),
      );
      // A shared selection opens with the view.
      await page.goto(linkView);
      await drawn(page);
      await page.waitForSelector("#explanation");
      for (const r of link.rules) {
        assert.ok((await page.textContent("#explanation"))!.includes(r.rule));
      }
      await page.goto(`${server.url}/?iteration=${ITERATION}&labels=Task`);
      const tasks = await drawn(page);
      assert.ok(tasks.entities > 0 && tasks.entities < now.entities);

      assert.deepEqual(problems, []);
      const foreign = requests.filter((u) => !u.startsWith(`${server.url}/`) && !/^data:/.test(u));
      assert.deepEqual(foreign, []);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});

Deno.test({
  name: "explorer: with ICS_API_TOKEN the page asks for the token, then draws",
  ignore: !hasChromium && !CI,
  async fn() {
    assert.ok(hasChromium, `${CHROMIUM} is missing (apt-get install chromium; .ci/run does)`);
    const { state } = await samplesState();
    const server = await startServe(state, "explorer-test-token");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      // The page itself is served without the token: it holds no data.
      await page.goto(`${server.url}/?iteration=${ITERATION}`);
      await page.waitForSelector("#graph[data-state=error]");
      assert.match(await page.textContent("#status") ?? "", /token/);
      await page.fill("#token", "explorer-test-token");
      await page.click("#apply");
      const seen = await drawn(page);
      assert.ok(seen.entities > 0);
    } finally {
      await browser.close();
      await server.stop();
    }
  },
});
