/**
 * Redis dedup store (services target): a key per idempotency key, holding the content digests of
 * the events seen under it (`SET key digest EX ttl NX` once its batch is committed; a colliding
 * event's digest is appended, comma-separated). Every call is ONE pipelined round trip, whatever
 * the batch size: `seen()` sends a few `MGET`s, `commit()` one `SET … NX` per key, all in one
 * write.
 *
 * Upgrades: earlier versions keyed events by one id field per stream and stored "1". For
 * `ttl_seconds` after this version first meets a Redis holding such keys, `seen()` also looks up
 * each event's key in that format (same round trip) and takes a hit as seen, so a re-send of an
 * event processed before the upgrade is not processed again.
 *
 * The client fails fast instead of queueing: no offline queue, one retry per request, and a
 * command timeout. A connection problem surfaces as a {@link RetriableError}, so the runtime retries
 * the batch with backoff (while ioredis reconnects in the background) instead of dropping data.
 * @module
 */
import { z } from "zod";
// The client is loaded on first use: the embedded target never pays for it (nor its env reads).
import type { Redis } from "ioredis";
import type { ComponentDef, Context, DedupStore, DedupVerdict } from "../core/component.ts";
import { RetriableError } from "../core/errors.ts";
import { readConfigFile, readSecret, redact, redactError } from "../core/secrets.ts";
import {
  caFile,
  commandTimeout,
  connectTimeout,
  notBothPasswords,
  passwordFields,
} from "../core/connection.ts";

export const schema = z.strictObject({
  type: z.literal("redis").describe("Keep idempotency keys in Redis."),
  url: z.string().regex(/^rediss?:\/\//, 'must start with "redis://" or "rediss://"')
    .default("redis://127.0.0.1:6379").describe(
      "Redis URL: redis://[user:password@]host:port[/db]; rediss:// for TLS. A password in it " +
        'must come from the environment ("${REDIS_URL}").',
    ),
  username: z.string().min(1).optional().describe(
    "ACL user (Redis 6+); default: the URL's, else the default user.",
  ),
  ...passwordFields("redis", { overridesUrl: true }),
  ca_file: caFile(" (rediss:// only); default: the system CAs"),
  key_prefix: z.string().default("ics:dedup:").describe(
    "Prepended to every idempotency key, so several pipelines can share one Redis.",
  ),
  connect_timeout_ms: connectTimeout(5000),
  command_timeout_ms: commandTimeout(5000),
}).check(notBothPasswords).refine((c) => !c.ca_file || c.url.startsWith("rediss://"), {
  message: 'ca_file needs a TLS URL ("rediss://")',
  path: ["ca_file"],
}).describe("Keep idempotency keys in Redis, with a TTL (shared by every runner instance).");

type Config = z.infer<typeof schema>;

/** `<prefix>format`: the key that says since when this format writes to a Redis (not an event's). */
export const FORMAT_KEY = "format";

/** The value earlier versions stored under a key (no digest). */
const LEGACY_VALUE = "1";

/**
 * Until when keys of the earlier format (one id field per stream, value "1") may still be live:
 * `ttl_seconds` after this store first ran against the Redis, if that Redis held keys under the
 * prefix then; never for a fresh one. Kept in `<prefix>format` as "2 <epoch ms>".
 */
async function legacyWindow(
  client: Redis,
  prefix: string,
  ttlSeconds: number,
  exec: (p: ReturnType<Redis["pipeline"]>) => Promise<unknown[]>,
): Promise<number> {
  const marker = `${prefix}${FORMAT_KEY}`;
  const [existing] = await exec(client.pipeline().get(marker));
  if (typeof existing !== "string") {
    // First run of this format: did an earlier version leave keys under the prefix?
    let cursor = "0";
    let found = false;
    for (let calls = 0; calls < 1000 && !found; calls++) {
      const [reply] = await exec(
        client.pipeline().scan(cursor, "MATCH", `${prefix}*`, "COUNT", 10_000),
      );
      const [next, keys] = reply as [string, string[]];
      found = keys.some((k) => k !== marker);
      cursor = next;
      if (cursor === "0") break;
    }
    await exec(client.pipeline().set(marker, `2 ${found ? Date.now() : 0}`, "NX"));
  }
  const [value] = await exec(client.pipeline().get(marker));
  const since = Number(String(value).split(" ")[1] ?? 0);
  return since > 0 ? since + ttlSeconds * 1000 : 0;
}

/** Keys per MGET: bounds a single command's size; all MGETs still go in one pipeline. */
const MGET_CHUNK = 1000;

/** Replies that refuse the credentials or the user's rights. */
const REFUSED = /\b(WRONGPASS|NOAUTH|NOPERM)\b/;

/** Reply errors that say "try again later" rather than "this command is wrong". */
const TRANSIENT_REPLY = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM)\b/;

export const redis: ComponentDef<typeof schema, DedupStore, { ttl_seconds: number }> = {
  type: "redis",
  schema,
  create: (config, ctx) => createRedisStore(config, ctx.ttl_seconds, ctx),
};

/** Connect (failing with a RetriableError when Redis is unreachable) and return the store. */
export async function createRedisStore(
  config: Config,
  ttlSeconds: number,
  ctx: Pick<Context, "log">,
): Promise<DedupStore> {
  const where = redact(config.url);
  const { Redis } = await import("ioredis");
  const { url, ...auth } = await connectionOptions(config);
  const client: Redis = new Redis(url, {
    ...auth,
    lazyConnect: true,
    enableOfflineQueue: false, // disconnected: fail now, the runtime retries with backoff
    maxRetriesPerRequest: 1,
    connectTimeout: config.connect_timeout_ms,
    commandTimeout: config.command_timeout_ms,
    retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2000), // reconnect in the background
    connectionName: "ics-dedup",
  });
  // ioredis reports connection trouble as events; without a listener it prints to the console.
  // Before the first connection, the failed connect() says why (the start retries it).
  let down = false;
  let connected = false;
  let lastError = "";
  client.on("error", (error: Error) => {
    lastError = redact(error.message);
    if (!down && connected) ctx.log("warn", `Redis at "${where}" is unavailable: ${lastError}`);
    down = true;
  });
  client.on("ready", () => {
    if (down && connected) ctx.log("info", `Redis at "${where}" is available again`);
    down = false;
    connected = true;
  });

  const fail = (error: unknown): Error => {
    if (error instanceof RetriableError) return error;
    const e = error instanceof Error ? error : new Error(String(error));
    const message = redact(e.message);
    if (e.name === "ReplyError" && !TRANSIENT_REPLY.test(e.message)) {
      return new Error(`Redis at "${where}" rejected the command: ${message}`);
    }
    return new RetriableError(`Redis at "${where}" is unavailable: ${message}`);
  };
  /** Run a pipeline: one write, one round trip; any failed command fails the call. */
  const exec = async (pipeline: ReturnType<Redis["pipeline"]>): Promise<unknown[]> => {
    let replies: [Error | null, unknown][] | null;
    try {
      replies = await pipeline.exec();
    } catch (error) {
      throw fail(error);
    }
    if (!replies) throw new RetriableError(`Redis at "${where}" discarded the pipeline`);
    return replies.map(([error, value]) => {
      if (error) throw fail(error);
      return value;
    });
  };

  try {
    await client.connect();
  } catch (error) {
    client.disconnect(); // stop reconnecting
    // The rejection only says "Connection is closed"; the error event said why.
    const reason = lastError || redactError(error);
    // Refused credentials are no outage: waiting would not help (and would hide the mistake).
    if (REFUSED.test(reason)) throw new Error(`Redis at "${where}" refused the login: ${reason}`);
    throw new RetriableError(`Redis at "${where}" is unreachable: ${reason}`);
  }

  const prefix = config.key_prefix;
  const legacyUntil = await legacyWindow(client, prefix, ttlSeconds, exec);
  return {
    get legacy() {
      return Date.now() < legacyUntil;
    },
    async seen(entries) {
      if (entries.length === 0) return [];
      const pipeline = client.pipeline();
      for (let i = 0; i < entries.length; i += MGET_CHUNK) {
        pipeline.mget(entries.slice(i, i + MGET_CHUNK).map((e) => prefix + e.key));
      }
      // Keys in the format of earlier versions, while their state may still be live.
      const legacy = Date.now() < legacyUntil ? entries.filter((e) => e.legacy) : [];
      for (let i = 0; i < legacy.length; i += MGET_CHUNK) {
        pipeline.mget(legacy.slice(i, i + MGET_CHUNK).map((e) => prefix + e.legacy));
      }
      const values = ((await exec(pipeline)) as (string | null)[][]).flat();
      const legacySeen = new Set(legacy.filter((_, i) => values[entries.length + i] !== null));
      return entries.map((e, i): DedupVerdict => {
        const v = values[i];
        if (v === null) return legacySeen.has(e) ? "seen" : "new";
        // "1": a key written by an earlier version, which kept no digest: taken as seen.
        return v === LEGACY_VALUE || v.split(",").includes(e.digest) ? "seen" : "collision";
      });
    },
    async commit(entries) {
      if (entries.length === 0) return;
      const pipeline = client.pipeline();
      for (const e of entries) {
        const k = prefix + e.key;
        if (e.collision) {
          // Beside the digests already there; EXPIRE NX gives a key that vanished meanwhile a TTL.
          pipeline.append(k, `,${e.digest}`);
          pipeline.expire(k, ttlSeconds, "NX");
        } else {
          // NX: a key already seen keeps its first expiry (a replay does not extend it).
          pipeline.set(k, e.digest, "EX", ttlSeconds, "NX");
        }
      }
      await exec(pipeline);
    },
    async check() {
      try {
        await client.ping();
      } catch (error) {
        throw fail(error);
      }
    },
    async close() {
      if (client.status === "ready") {
        try {
          await client.quit(); // waits for replies in flight, then closes
          return;
        } catch { /* fall through: drop the connection */ }
      }
      client.disconnect();
    },
  };
}

/**
 * The URL and ioredis's credential and TLS options. A URL's credentials would win over the
 * options in ioredis, so with explicit ones all credentials move out of the URL.
 */
export async function connectionOptions(
  config: Pick<Config, "url" | "username" | "password" | "password_file" | "ca_file">,
): Promise<{ url: string; username?: string; password?: string; tls?: { ca: string } }> {
  const tls = config.ca_file
    ? { tls: { ca: await readConfigFile(config.ca_file, "redis ca_file") } }
    : {};
  const explicit = await readSecret(config.password, config.password_file, "redis password_file");
  if (explicit === undefined && config.username === undefined) return { url: config.url, ...tls };
  const u = new URL(config.url);
  const username = config.username ?? (decodeURIComponent(u.username) || undefined);
  const password = explicit ?? (decodeURIComponent(u.password) || undefined);
  u.username = "";
  u.password = "";
  return {
    url: u.toString(),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...tls,
  };
}
