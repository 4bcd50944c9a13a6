/**
 * The load of `bench:api`: concurrent clients, each sending the next request of a fixed mix of
 * query kinds (iteration views, entity lookups with links, explain, as-of queries, links by rule
 * and confidence) as soon as its last answer arrived, for a set time. Latency is measured per
 * request, from sending to the whole body read, and reported per kind (p50/p95/p99).
 *
 * Hand-written rather than autocannon or wrk: those report one latency distribution per run, and
 * the figures asked for are per kind of query within one mixed load.
 * @module
 */

export interface Request {
  kind: string;
  query: string;
  variables: Record<string, unknown>;
}

export interface KindReport {
  kind: string;
  requests: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
  /** A sample error message, when any. */
  error?: string;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;

/** Run `clients` loops over `next()` for `seconds`; `url` is the /graphql endpoint. */
export async function load(
  url: string,
  next: (client: number, i: number) => Request,
  clients: number,
  seconds: number,
  headers: Record<string, string> = {},
): Promise<{ kinds: KindReport[]; total: number; seconds: number }> {
  const times = new Map<string, number[]>();
  const errors = new Map<string, { n: number; sample?: string }>();
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(Array.from({ length: clients }, async (_, client) => {
    for (let i = 0; performance.now() < until; i++) {
      const r = next(client, i);
      const t0 = performance.now();
      let failed: string | undefined;
      try {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ query: r.query, variables: r.variables }),
        });
        const body = await response.json();
        if (response.status !== 200 || body.errors) {
          failed = `${response.status} ${JSON.stringify(body.errors ?? body).slice(0, 200)}`;
        }
      } catch (error) {
        failed = String(error);
      }
      const ms = performance.now() - t0;
      if (!times.has(r.kind)) times.set(r.kind, []);
      times.get(r.kind)!.push(ms);
      if (failed) {
        const e = errors.get(r.kind) ?? { n: 0 };
        e.n++, e.sample ??= failed;
        errors.set(r.kind, e);
      }
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  const kinds = [...times].sort(([a], [b]) => a < b ? -1 : 1).map(([kind, ms]) => {
    const sorted = ms.sort((a, b) => a - b);
    return {
      kind,
      requests: ms.length,
      errors: errors.get(kind)?.n ?? 0,
      p50: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      p99: quantile(sorted, 0.99),
      error: errors.get(kind)?.sample,
    };
  });
  return { kinds, total: kinds.reduce((s, k) => s + k.requests, 0), seconds: elapsed };
}

/** The report as a table: per kind, requests/s and latency percentiles in ms. */
export function table(r: Awaited<ReturnType<typeof load>>, goalMs = 100): string {
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `${"kind".padEnd(12)}${pad("requests", 10)}${pad("req/s", 9)}${pad("p50 ms", 9)}` +
    `${pad("p95 ms", 9)}${pad("p99 ms", 9)}${pad("errors", 8)}  p95 < ${goalMs} ms`,
  ];
  for (const k of r.kinds) {
    lines.push(
      `${k.kind.padEnd(12)}${pad(k.requests, 10)}${pad((k.requests / r.seconds).toFixed(1), 9)}` +
        `${pad(k.p50.toFixed(1), 9)}${pad(k.p95.toFixed(1), 9)}${pad(k.p99.toFixed(1), 9)}` +
        `${pad(k.errors, 8)}  ${k.p95 < goalMs ? "yes" : "NO"}`,
    );
  }
  lines.push(
    `${"all".padEnd(12)}${pad(r.total, 10)}${pad((r.total / r.seconds).toFixed(1), 9)}`,
  );
  for (const k of r.kinds) if (k.error) lines.push(`  ${k.kind} error: ${k.error}`);
  return lines.join("\n");
}
