/**
 * The Prometheus alert rules (infrastructure/prometheus/alerts.yml): one per objective, each
 * complete (for, severity, summary, description), reading only metrics ics exports, loaded by
 * the Prometheus of docker-compose.yml; and, with promtool, valid and behaving as their unit tests
 * (alerts_test.yml) say. Without promtool (Debian: apt-get install prometheus) those are reported
 * as ignored, and fail in CI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { createTelemetry, metricNames } from "../src/telemetry/mod.ts";
import { metricsIn } from "./_promql.ts";

const root = new URL("..", import.meta.url).pathname;
const folder = join(root, "infrastructure/prometheus");

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = async (): Promise<Rule[]> =>
  parse(await Deno.readTextFile(join(folder, "alerts.yml"))).groups.flatMap(
    (g: { rules: Rule[] }) => g.rules,
  );

/** Series Prometheus makes itself for every scrape target. */
const PROMETHEUS_OWN = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

Deno.test("the alert rules cover every objective and are complete", async () => {
  const all = await rules();
  assert.deepEqual(all.map((r) => r.alert).sort(), [
    "IcsComponentDown",
    "IcsConsumerLagGrowing",
    "IcsDeadLetterRateHigh",
    "IcsDown",
    "IcsLatencyP95AboveSlo",
    "IcsThroughputBelowSlo",
  ]);
  for (const r of all) {
    assert.match(r.for ?? "", /^\d+[smh]$/, `${r.alert}: a duration in for`);
    assert.ok(["warning", "critical"].includes(r.labels?.severity ?? ""), `${r.alert}: severity`);
    assert.ok(r.annotations?.summary, `${r.alert}: summary`);
    assert.ok(r.annotations?.description, `${r.alert}: description`);
  }
  const byName = Object.fromEntries(all.map((r) => [r.alert, r.expr]));
  assert.match(byName.IcsThroughputBelowSlo, /ics_events_received_total\[5m\]\)\) < 5000/);
  assert.match(
    byName.IcsLatencyP95AboveSlo,
    /histogram_quantile\(0\.95, .*ics_e2e_latency_seconds_bucket.*> 1\s*$/s,
  );
});

Deno.test("the alert rules read only metrics ics exports", async () => {
  const exported = new Set(await metricNames(createTelemetry()));
  for (const r of await rules()) {
    const names = metricsIn(r.expr);
    assert.ok(names.length > 0, `${r.alert}: no metric in ${r.expr}`);
    for (const name of names) {
      assert.ok(
        exported.has(name) || PROMETHEUS_OWN.has(name),
        `${r.alert}: ${name} is not a metric ics exports`,
      );
    }
  }
});

Deno.test("docker-compose.yml's Prometheus loads the alert rules", async () => {
  const config = parse(await Deno.readTextFile(join(folder, "prometheus.yml")));
  assert.deepEqual(config.rule_files, ["alerts.yml"]);
  const compose = parse(await Deno.readTextFile(join(root, "docker-compose.yml")));
  const mounts: string[] = compose.services.prometheus.volumes;
  // rule_files are relative to the config file: the rules sit next to it in the container.
  assert.ok(
    mounts.includes("./infrastructure/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"),
  );
  assert.ok(
    mounts.includes("./infrastructure/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro"),
  );
});

const promtool = await new Deno.Command("promtool", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

for (
  const [name, args] of [
    ["promtool accepts the Prometheus config and its rule file", [
      "check",
      "config",
      "prometheus.yml",
    ]],
    ["the alert rules pass their promtool unit tests", ["test", "rules", "alerts_test.yml"]],
  ] as const
) {
  Deno.test({
    name,
    ignore: !promtool && !Deno.env.get("CI"),
    async fn() {
      assert.ok(promtool, "promtool is not installed (Debian: apt-get install prometheus)");
      const out = await new Deno.Command("promtool", { args: [...args], cwd: folder }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, text);
      assert.match(text, /SUCCESS/);
    },
  });
}
