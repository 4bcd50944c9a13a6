/**
 * The services' default addresses: those of docker-compose.yml, infrastructure/services.sh and
 * the `services` target's `${VAR:-default}`s. Tests reach the services at these unless the
 * environment says otherwise (`_services.ts`); checks of the shipped files compare against these,
 * whatever the environment says.
 * @module
 */
export const DEFAULT_ADDRESSES = {
  kafka: "127.0.0.1:9092",
  schema_registry: "http://127.0.0.1:8081/apis/ccompat/v7",
  redis: "redis://127.0.0.1:6379",
  neo4j: "bolt://127.0.0.1:7687",
  postgres: "postgres://postgres@127.0.0.1:5432/test",
} as const;

export type Service = keyof typeof DEFAULT_ADDRESSES;

/** Environment variable of each service's address. */
export const ADDRESS_VARIABLES: Record<Service, string> = {
  kafka: "KAFKA_BROKERS",
  schema_registry: "SCHEMA_REGISTRY_URL",
  redis: "REDIS_URL",
  neo4j: "NEO4J_URI",
  postgres: "POSTGRES_URL",
};

/** host:port of an address (a URL, or a comma-separated host:port list: its first entry). */
export function parseHostPort(address: string): { host: string; port: number } {
  const first = address.split(",")[0];
  const url = first.includes("://") ? new URL(first) : new URL(`tcp://${first}`);
  return { host: url.hostname, port: Number(url.port) };
}
