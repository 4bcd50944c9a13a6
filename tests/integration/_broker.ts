/**
 * A private Kafka broker for tests that stop and restart one (the shared broker must never be
 * stopped): `infrastructure/kafka-broker.sh` runs it from the jars `services.sh up` fetched
 * (`.cache/jars/kafka`, or `KAFKA_JARS`), with its data in a temporary folder and free ports.
 * @module
 */
import { join } from "node:path";

const root = new URL("../../", import.meta.url).pathname;
const script = join(root, "infrastructure/kafka-broker.sh");
export const KAFKA_JARS = Deno.env.get("KAFKA_JARS") ?? join(root, ".cache/jars/kafka");

/** Whether a private broker can be started here (the jars are fetched, java is installed). */
export async function brokerAvailable(): Promise<boolean> {
  const jars = await Deno.stat(join(KAFKA_JARS, ".ics-stamp")).then(() => true, () => false);
  const java = await new Deno.Command("java", { args: ["-version"], stderr: "null" }).output()
    .then((o) => o.success, () => false);
  return jars && java;
}

export interface Broker {
  /** host:port */
  readonly address: string;
  start(): Promise<void>;
  /** SIGTERM, and wait until it has shut down. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function sh(...args: string[]) {
  const out = await new Deno.Command("bash", {
    args: [script, ...args],
    env: { KAFKA_JARS },
    signal: AbortSignal.timeout(300_000),
  }).output();
  if (!out.success) {
    const text = new TextDecoder().decode(new Uint8Array([...out.stdout, ...out.stderr]));
    throw new Error(`kafka-broker.sh ${args[0]} failed:\n${text}`);
  }
}

/** A broker with its own data folder and ports; not started yet. */
export async function privateBroker(): Promise<Broker> {
  const dir = await Deno.makeTempDir({ prefix: "ics-broker-" });
  const port = freePort();
  let controller = freePort();
  while (controller === port) controller = freePort();
  return {
    address: `127.0.0.1:${port}`,
    start: () => sh("start", dir, String(port), String(controller)),
    stop: () => sh("stop", dir),
    async [Symbol.asyncDispose]() {
      await sh("stop", dir).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}
