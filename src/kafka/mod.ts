/**
 * What the Kafka components and commands share: the connection options (brokers, client id,
 * SASL, TLS) as zod fields, the kafkajs client built from them, and the mapping of kafkajs errors
 * onto the runtime's {@link RetriableError}.
 *
 * kafkajs under Deno: it runs unchanged on Deno's `node:net`/`node:tls`. One known kafkajs bug
 * shows: at the first connection Deno prints `TimeoutNegativeWarning: ... is a negative number`
 * (kafkajs schedules `throttledUntil - Date.now()` with `throttledUntil = -1`; kafkajs#1751,
 * unmerged fixes #1755/#1768). Node's timers clamp the delay to 1 ms, so it is harmless.
 * @module
 */
import { z } from "zod";
// kafkajs is loaded on first use: the embedded target and the schema task never pay for it (nor
// for its environment reads, which need --allow-env).
import type { Kafka, KafkaConfig, SASLOptions } from "kafkajs";
import { RetriableError } from "../core/errors.ts";
import { readSecret, readTls, redact } from "../core/secrets.ts";
import { caFile, onePassword, passwordFields } from "../core/connection.ts";
import type { Context } from "../core/component.ts";

export type { Kafka };

let module: Promise<typeof import("kafkajs")> | undefined;
/** The kafkajs module, imported once, on first use. */
export const kafkajs = () => module ??= import("kafkajs");

/** kafkajs `logLevel` values. */
const LEVEL = { ERROR: 1, WARN: 2 } as const;

export const DEFAULT_BROKERS = ["127.0.0.1:9092"];

/**
 * kafkajs warnings that do not apply here: the partitioner notice (we pass one explicitly), the
 * bounded-retries notice for idempotent producers (a failed transaction is aborted and retried
 * whole, and `produce` fails loudly rather than resending), and the ones listed below.
 */
const QUIET = [
  /switched default partitioner/,
  /Limiting retries for the idempotent producer/,
  // Retried by the dead-letter queue (kafkajs does not; kafkajs#430), so not an error.
  /AddOffsetsToTxn.*another concurrent operation on the same transaction/,
  // A member finishing its batches before it rejoins beats on through the rebalance; kafkajs
  // still warns once that the group is rebalancing.
  /Response Heartbeat.*group is rebalancing/,
];

/** The connection fields every Kafka component config has. */
export const connectionFields = {
  // A list, or one comma-separated string (what a KAFKA_BROKERS variable usually holds).
  brokers: z.preprocess(
    (v) => typeof v === "string" ? v.split(",").map((b) => b.trim()).filter(Boolean) : v,
    z.array(z.string().regex(/^[^\s:]+:\d+$/, "must be host:port")).min(1),
  ).default(DEFAULT_BROKERS).describe("Bootstrap brokers, host:port (a list or comma-separated)."),
  client_id: z.string().min(1).default("ics").describe("Client id reported to the brokers."),
  sasl: z.strictObject({
    mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).describe("SASL mechanism."),
    username: z.string().min(1).describe("SASL user name."),
    ...passwordFields("kafka", { what: "SASL password" }),
  }).check(onePassword("SASL password")).optional().describe("SASL authentication; absent: none."),
  ssl: z.union([
    z.boolean(),
    z.strictObject({
      ca_file: caFile("; default: the system CAs", "the brokers' certificates"),
      cert_file: z.string().min(1).optional().describe("PEM client certificate (mutual TLS)."),
      key_file: z.string().min(1).optional().describe("PEM private key of cert_file."),
    }).refine((t) => (t.cert_file === undefined) === (t.key_file === undefined), {
      message: "cert_file and key_file go together",
    }),
  ]).default(false).describe(
    "TLS: true (verified against the system CAs), or the CA and client certificate files.",
  ),
};

const connection = z.strictObject(connectionFields);
export type KafkaConnection = z.infer<typeof connection>;

/** A kafkajs client whose log lines go to the component's log, not the console. */
export async function createKafka(config: KafkaConnection, log?: Context["log"]): Promise<Kafka> {
  const { Kafka } = await kafkajs();
  const options: KafkaConfig = {
    clientId: config.client_id,
    brokers: config.brokers,
    ...(await securityOptions(config)),
    logLevel: LEVEL.WARN,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 5_000 },
    logCreator: () => ({ level, log: entry }) => {
      const text = `kafka ${entry.message}${entry.error ? `: ${entry.error}` : ""}`;
      if (!log || QUIET.some((q) => q.test(text))) return;
      log(level <= LEVEL.ERROR ? "error" : level === LEVEL.WARN ? "warn" : "info", redact(text));
    },
  };
  return new Kafka(options);
}

/** kafkajs's `sasl` and `ssl` options from the connection config (secret files read here). */
export async function securityOptions(
  config: Pick<KafkaConnection, "sasl" | "ssl">,
): Promise<Pick<KafkaConfig, "sasl" | "ssl">> {
  const { sasl, ssl } = config;
  const password = sasl &&
    await readSecret(sasl.password, sasl.password_file, "kafka sasl.password_file");
  return {
    ssl: typeof ssl === "boolean" ? ssl : { ...(await readTls(ssl, "kafka ssl")) },
    sasl: sasl &&
      { mechanism: sasl.mechanism, username: sasl.username, password: password! } as SASLOptions,
  };
}

/** The Java client's partitioner (murmur2 of the key): co-partitioning agrees with Java producers. */
export const partitioner = async () => (await kafkajs()).Partitioners.DefaultPartitioner;

interface KafkaJSErrorLike {
  name?: string;
  message?: string;
  retriable?: boolean;
  type?: string;
  cause?: unknown;
}

const TRANSIENT_NAMES = new Set([
  "KafkaJSConnectionError",
  "KafkaJSConnectionClosedError",
  "KafkaJSRequestTimeoutError",
  "KafkaJSBrokerNotFound",
  "KafkaJSNumberOfRetriesExceeded",
  "KafkaJSLockTimeout",
  "KafkaJSNoBrokerAvailableError",
  "KafkaJSMetadataNotLoaded",
  "KafkaJSGroupCoordinatorNotFound",
]);

/** Whether a kafkajs error is a group rebalance (the partition may now belong to another member). */
export function isRebalance(error: unknown): boolean {
  const e = error as KafkaJSErrorLike;
  const type = e?.type ?? (e?.cause as KafkaJSErrorLike | undefined)?.type;
  return type === "REBALANCE_IN_PROGRESS" || type === "ILLEGAL_GENERATION" ||
    type === "NOT_COORDINATOR_FOR_GROUP" || type === "UNKNOWN_MEMBER_ID";
}

/** Whether retrying later may succeed (broker down, timeout, leader or coordinator moving). */
export function isTransient(error: unknown): boolean {
  const e = error as KafkaJSErrorLike;
  if (!e || typeof e !== "object") return false;
  if (e instanceof RetriableError) return true;
  if (e.retriable === true || TRANSIENT_NAMES.has(e.name ?? "")) return true;
  return e.cause !== undefined && e.cause !== e && isTransient(e.cause);
}

/** Wrap a kafkajs failure: RetriableError when transient, a plain Error otherwise; `what` leads. */
export function kafkaError(what: string, error: unknown): Error {
  if (error instanceof RetriableError) return error;
  const message = `${what}: ${redact((error as Error)?.message ?? String(error))}`;
  return isTransient(error) ? new RetriableError(message) : new Error(message, { cause: error });
}

/** Headers as strings (kafkajs gives Buffers, strings or arrays of them). */
export function headerStrings(
  headers: Record<string, Uint8Array | string | (Uint8Array | string)[] | undefined> | undefined,
): Record<string, string> | undefined {
  if (!headers) return undefined;
  const out: Record<string, string> = {};
  const text = (v: Uint8Array | string) => typeof v === "string" ? v : DECODER.decode(v);
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(text).join(",") : text(v);
  }
  return out;
}

const DECODER = new TextDecoder();
