/**
 * docker-compose.yml cannot run here (no Docker engine), so this test keeps it honest: the same
 * services, host ports and defaults as the native scripts and the `services` target. It compares
 * the shipped files with the default addresses, never with the environment (`KAFKA_BROKERS` may
 * point elsewhere while the tests run).
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { DEFAULT_ADDRESSES, parseHostPort, type Service } from "./integration/_addresses.ts";

const root = new URL("..", import.meta.url).pathname;
const compose = parse(await Deno.readTextFile(`${root}docker-compose.yml`));
const pipeline = await Deno.readTextFile(`${root}pipeline.yaml`);

/** `${VAR:-default}` references in the services target of pipeline.yaml. */
function targetVariables(): Map<string, string> {
  const target = pipeline.slice(pipeline.indexOf("  services:"));
  return new Map(
    [...target.matchAll(/\$\{([A-Z][A-Z0-9_]*):-([^}]*)\}/g)].map((m) => [m[1], m[2]]),
  );
}

const hostPorts = (service: string): number[] =>
  (compose.services[service].ports ?? []).map((p: string) => Number(String(p).split(":")[0]));

Deno.test("docker-compose.yml has every service, pinned and health-checked", () => {
  for (
    const name of [
      "kafka",
      "schema-registry",
      "neo4j",
      "redis",
      "postgres",
      "jaeger",
      "prometheus",
      "grafana",
      "ics",
    ]
  ) {
    const s = compose.services[name];
    assert.ok(s, `service ${name} is missing`);
    assert.match(s.image, /:[\w.-]+$/, `${name} image is not pinned`);
    assert.doesNotMatch(s.image, /:latest$/, `${name} image is pinned to latest`);
    if (name !== "ics") assert.ok(s.healthcheck?.test, `${name} has no health check`);
  }
  assert.match(compose.services.postgres.image, /timescale/);
});

Deno.test("docker-compose.yml publishes the ports the native scripts and tests use", () => {
  const expect: [string, Service][] = [
    ["kafka", "kafka"],
    ["schema-registry", "schema_registry"],
    ["neo4j", "neo4j"],
    ["redis", "redis"],
    ["postgres", "postgres"],
  ];
  for (const [service, native] of expect) {
    const { port } = parseHostPort(DEFAULT_ADDRESSES[native]);
    assert.ok(hostPorts(service).includes(port), `${service} must publish ${port}`);
  }
});

Deno.test("the services target's variables default to the native addresses and compose sets them all", () => {
  const vars = targetVariables();
  const expected: Record<string, string> = {
    KAFKA_BROKERS: DEFAULT_ADDRESSES.kafka,
    SCHEMA_REGISTRY_URL: DEFAULT_ADDRESSES.schema_registry,
    REDIS_URL: DEFAULT_ADDRESSES.redis,
    NEO4J_URI: DEFAULT_ADDRESSES.neo4j,
    POSTGRES_URL: DEFAULT_ADDRESSES.postgres,
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(vars.get(name), value, `pipeline.yaml services target: \${${name}:-...}`);
    assert.ok(compose.services.ics.environment[name], `compose ics service must set ${name}`);
  }
  for (const name of vars.keys()) {
    assert.ok(name in compose.services.ics.environment, `compose ics service must set ${name}`);
  }
});
