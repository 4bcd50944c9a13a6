/**
 * The explorer (issue #12): a small hand-written page at `/` that draws one iteration's graph
 * through `/graphql` (cytoscape). No build step and no CDN: the page, its module and stylesheet are
 * files beside this one, and cytoscape is served from the npm package Deno resolved, so the page
 * works offline. Every answer carries a Content-Security-Policy that allows scripts, styles and
 * requests from this server only (no inline script or style).
 * @module
 */
import { dirname, join } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import type { CompiledSpec } from "../../compiler/types.ts";

/** Self only: the page's module, its stylesheet, cytoscape and `/graphql`, nothing else. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json",
};

interface Asset {
  bytes: Uint8Array<ArrayBuffer>;
  type: string;
  etag: string;
}

export interface ExplorerHandler {
  /** The response to a request for the explorer's paths (`/`, `/explorer/...`); else undefined. */
  handle(request: Request): Promise<Response | undefined>;
}

/** The npm file of cytoscape's minified ES module, as Deno resolved the package. */
export function cytoscapeFile(): string {
  const entry = import.meta.resolve("cytoscape");
  if (!entry.startsWith("file:")) {
    throw new Error(
      `cytoscape resolved to ${entry}, not a file: the explorer needs the npm package on disk ` +
        '(deno.json "nodeModulesDir": "auto")',
    );
  }
  return join(dirname(fromFileUrl(entry)), "cytoscape.esm.min.mjs");
}

/** Each entity label's stream, for the page's colours. */
export function labelStreams(spec: CompiledSpec): Record<string, string> {
  return Object.fromEntries(spec.entities.map((e) => [e.label, e.stream]));
}

async function asset(bytes: Uint8Array<ArrayBuffer>, type: string): Promise<Asset> {
  // Bytes, not characters: the length and the hash are of what is sent.
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = [...digest.slice(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { bytes, type, etag: `"${hex}"` };
}

export function explorerHandler(spec: CompiledSpec): ExplorerHandler {
  const here = (name: string) => fromFileUrl(new URL(name, import.meta.url));
  const files: Record<string, () => string> = {
    "/": () => here("./index.html"),
    "/explorer/explorer.js": () => here("./explorer.js"),
    "/explorer/explorer.css": () => here("./explorer.css"),
    "/explorer/cytoscape.mjs": cytoscapeFile,
  };
  const cache = new Map<string, Promise<Asset>>();
  const load = (path: string): Promise<Asset> => {
    let a = cache.get(path);
    if (!a) {
      a = path === "/explorer/streams.json"
        ? asset(
          new TextEncoder().encode(
            JSON.stringify({
              streams: [...spec.streams.keys()],
              labels: labelStreams(spec),
            }) + "\n",
          ),
          TYPES.json,
        )
        : (async () => {
          const file = files[path]();
          return asset(await Deno.readFile(file), TYPES[file.split(".").pop()!]);
        })();
      // A failed read is tried again on the next request, not remembered.
      a.catch(() => cache.delete(path));
      cache.set(path, a);
    }
    return a;
  };
  const headers = (extra: Record<string, string>) => ({
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    ...extra,
  });
  return {
    async handle(request) {
      const { pathname } = new URL(request.url);
      const path = pathname === "/index.html" ? "/" : pathname;
      if (!(path in files) && path !== "/explorer/streams.json") return undefined;
      if (request.method !== "GET" && request.method !== "HEAD") {
        return new Response("method not allowed\n", {
          status: 405,
          headers: headers({ allow: "GET, HEAD" }),
        });
      }
      let a: Asset;
      try {
        a = await load(path);
      } catch (error) {
        return new Response(`the explorer cannot serve ${path}: ${(error as Error).message}\n`, {
          status: 500,
          headers: headers({ "content-type": "text/plain; charset=utf-8" }),
        });
      }
      const common = {
        "content-type": a.type,
        etag: a.etag,
        // The page itself may change with the next version; the rest is named by the page.
        "cache-control": "no-cache",
      };
      if (request.headers.get("if-none-match") === a.etag) {
        return new Response(null, { status: 304, headers: headers(common) });
      }
      return new Response(request.method === "HEAD" ? null : a.bytes, {
        headers: headers({ ...common, "content-length": String(a.bytes.byteLength) }),
      });
    },
  };
}
