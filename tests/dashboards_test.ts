/**
 * The Grafana dashboards reference only metrics that ics exports: every metric name in their PromQL
 * (histogram series without `_bucket`/`_sum`/`_count`) is in the telemetry registry, counters,
 * histograms, the lag gauge and prom-client's process metrics included.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { createTelemetry, metricNames } from "../src/telemetry/mod.ts";
import { metricsIn } from "./_promql.ts";

const root = new URL("..", import.meta.url).pathname;
const dashboards = join(root, "infrastructure/grafana/dashboards");

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

async function exprs(): Promise<{ file: string; panel: string; expr: string }[]> {
  const out: { file: string; panel: string; expr: string }[] = [];
  for await (const entry of Deno.readDir(dashboards)) {
    if (!entry.name.endsWith(".json")) continue;
    const board = JSON.parse(await Deno.readTextFile(join(dashboards, entry.name)));
    const walk = (panels: Panel[]) => {
      for (const p of panels) {
        for (const t of p.targets ?? []) {
          if (t.expr) out.push({ file: entry.name, panel: p.title ?? "", expr: t.expr });
        }
        walk(p.panels ?? []);
      }
    };
    walk(board.panels ?? []);
    for (const v of board.templating?.list ?? []) {
      const q = typeof v.query === "string" ? v.query : v.query?.query;
      const m = /label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(q ?? "");
      if (m) out.push({ file: entry.name, panel: `$${v.name}`, expr: m[1] });
    }
  }
  return out;
}

Deno.test("metricsIn() finds the metric names of PromQL expressions", () => {
  assert.deepEqual(
    metricsIn(
      'histogram_quantile(0.95, sum by (le, stage) (rate(ics_stage_seconds_bucket{instance=~"$instance", le="5"}[$__rate_interval])))',
    ),
    ["ics_stage_seconds"],
  );
  assert.deepEqual(
    metricsIn("sum(rate(a_total[5m])) / (sum(b_count) + time() - c offset 5m)").sort(),
    ["a_total", "b", "c"],
  );
});

Deno.test("the four dashboards reference only metrics ics exports", async () => {
  const exported = new Set(await metricNames(createTelemetry()));
  const found = await exprs();
  const files = new Set(found.map((e) => e.file));
  assert.deepEqual([...files].sort(), [
    "correlation_quality.json",
    "pipeline_health.json",
    "resources.json",
    "slo.json",
  ]);
  const used = new Set<string>();
  for (const { file, panel, expr } of found) {
    const names = metricsIn(expr);
    assert.ok(names.length > 0, `${file} "${panel}": no metric in ${expr}`);
    for (const name of names) {
      assert.ok(exported.has(name), `${file} "${panel}": ${name} is not exported by ics`);
      used.add(name);
    }
  }
  // The dashboards show every ics_ metric (nothing exported goes unseen).
  const unseen = [...exported].filter((n) => n.startsWith("ics_") && !used.has(n));
  assert.deepEqual(unseen, []);
});

Deno.test("Grafana provisioning points the dashboard provider at the compose mount", async () => {
  const provider = parse(
    await Deno.readTextFile(join(root, "infrastructure/grafana/provisioning/dashboards/ics.yml")),
  );
  const datasource = parse(
    await Deno.readTextFile(
      join(root, "infrastructure/grafana/provisioning/datasources/prometheus.yml"),
    ),
  );
  const compose = parse(await Deno.readTextFile(join(root, "docker-compose.yml")));
  const mounts: string[] = compose.services.grafana.volumes;
  const path = provider.providers[0].options.path;
  assert.ok(
    mounts.some((m) => m.startsWith("./infrastructure/grafana/dashboards:" + path)),
    `compose must mount the dashboards at ${path}`,
  );
  assert.equal(datasource.datasources[0].uid, "prometheus");
  for await (const entry of Deno.readDir(dashboards)) {
    const board = JSON.parse(await Deno.readTextFile(join(dashboards, entry.name)));
    const uids = new Set<string>();
    const walk = (p: { datasource?: { uid?: string }; panels?: unknown[] }) => {
      if (p.datasource?.uid) uids.add(p.datasource.uid);
      for (const c of p.panels ?? []) walk(c as typeof p);
    };
    walk(board);
    assert.deepEqual([...uids].filter((u) => u !== "prometheus"), [], entry.name);
  }
  const prometheus = parse(
    await Deno.readTextFile(join(root, "infrastructure/prometheus/prometheus.yml")),
  );
  assert.deepEqual(prometheus.scrape_configs[0].static_configs[0].targets, ["ics:8000"]);
});
