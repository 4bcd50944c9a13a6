/**
 * The Redis dedup store against a real Redis. Each test uses its own key prefix and deletes its
 * keys afterwards. Round trips are counted on the wire, by a TCP proxy that holds every reply for
 * a while: a client that pipelines sends its whole request before any reply reaches it.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { hostPort, SERVICES, serviceTest } from "./_services.ts";
import { createRedisStore, redis, schema } from "../../src/dedup/redis.ts";
import { RetriableError } from "../../src/core/errors.ts";
import { withRetry } from "../../src/runtime/_retry.ts";
import type { DedupEntry } from "../../src/core/component.ts";
import { sha256 } from "../../src/core/hash.ts";

const TTL = 3600;

function config(url = SERVICES.redis) {
  const prefix = `ics:test:${crypto.randomUUID()}:`;
  return schema.parse({ type: "redis", url, key_prefix: prefix, connect_timeout_ms: 1000 });
}

function logs() {
  const lines: string[] = [];
  return {
    lines,
    log: (level: string, message: string) => void lines.push(`${level}: ${message}`),
  };
}

/** Delete every key under a prefix (SCAN, never KEYS). */
async function cleanup(prefix: string) {
  const admin = new Redis(SERVICES.redis);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      if (keys.length) await admin.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    await admin.quit();
  }
}

const digestOf = (text: string) => sha256(text).slice(0, 32);
/** The dedup entry of an event under key `key` whose content is `content`. */
const entry = (key: string, content = "same"): DedupEntry => ({ key, digest: digestOf(content) });
const list = (...ks: string[]) => ks.map((k) => entry(k));
const keys = (n: number, tag = "k") => Array.from({ length: n }, (_, i) => entry(`${tag}${i}`));

serviceTest("redis dedup store sees a key only after it is committed", ["redis"], async () => {
  const c = config();
  const store = await redis.create(c, {
    stateDir: ".",
    specDir: ".",
    log: () => {},
    ttl_seconds: TTL,
  });
  try {
    assert.deepEqual(await store.seen(list("a", "b")), ["new", "new"]);
    // Checking does not mark: the batch may still fail before its sinks acknowledge it.
    assert.deepEqual(await store.seen(list("a")), ["new"]);
    await store.commit(list("a"));
    assert.deepEqual(await store.seen(list("a", "b", "a")), ["seen", "new", "seen"]);
    assert.equal(store.legacy, false, "a fresh Redis holds no keys of the earlier format");
    assert.deepEqual(await store.seen([]), []);
    await store.commit([]);
    await store.check();
  } finally {
    await store.close();
    await cleanup(c.key_prefix);
  }
});

serviceTest(
  "redis dedup store commits keys with the TTL, and a re-commit keeps it",
  ["redis"],
  async () => {
    const c = config();
    const store = await createRedisStore(c, TTL, { log: () => {} });
    const admin = new Redis(SERVICES.redis);
    try {
      await store.commit(list("a"));
      assert.equal(await admin.get(`${c.key_prefix}a`), digestOf("same"));
      const ttl = await admin.ttl(`${c.key_prefix}a`);
      assert.ok(ttl > TTL - 5 && ttl <= TTL, `TTL ${ttl}`);
      // NX: committing a key again (a replayed batch) neither fails nor extends its expiry.
      await admin.expire(`${c.key_prefix}a`, 100);
      await store.commit(list("a", "b"));
      assert.ok((await admin.ttl(`${c.key_prefix}a`)) <= 100);
      assert.ok((await admin.ttl(`${c.key_prefix}b`)) > TTL - 5);
      // Keys of another prefix are another pipeline's: not seen here.
      const other = await createRedisStore(config(), TTL, { log: () => {} });
      assert.deepEqual(await other.seen(list("a")), ["new"]);
      await other.close();
    } finally {
      await admin.quit();
      await store.close();
      await cleanup(c.key_prefix);
    }
  },
);

serviceTest(
  "redis dedup store checks and commits 10,000 keys in one round trip each",
  ["redis"],
  async () => {
    const proxy = delayingProxy(hostPort("redis"), 300);
    const c = config(`redis://127.0.0.1:${proxy.port}`);
    const store = await createRedisStore(c, TTL, { log: () => {} });
    try {
      const batch = keys(10_000);
      proxy.reset();
      assert.deepEqual(await store.seen(batch), batch.map(() => "new"));
      assert.equal(proxy.rounds, 1, "seen() took more than one round trip");
      proxy.reset();
      await store.commit(batch);
      assert.equal(proxy.rounds, 1, "commit() took more than one round trip");
      proxy.reset();
      const seen = await store.seen([...batch, entry("new"), entry("k1", "other content")]);
      assert.equal(proxy.rounds, 1);
      assert.equal(seen.filter((v) => v === "seen").length, 10_000);
      assert.deepEqual(seen.slice(-2), ["new", "collision"]);
      // A colliding event's digest joins the key's, in the same single round trip.
      proxy.reset();
      await store.commit([{ ...entry("k1", "other content"), collision: true }, entry("new")]);
      assert.equal(proxy.rounds, 1);
      assert.deepEqual(await store.seen([entry("k1"), entry("k1", "other content")]), [
        "seen",
        "seen",
      ]);
    } finally {
      await store.close();
      proxy.close();
      await cleanup(c.key_prefix);
    }
  },
);

serviceTest(
  "redis dedup store still finds keys an earlier version wrote, for ttl_seconds after the upgrade",
  ["redis"],
  async () => {
    const c = config();
    const admin = new Redis(SERVICES.redis);
    try {
      // An earlier version's state: one id field per stream in the key, "1" as the value.
      await admin.set(`${c.key_prefix}old-format-key`, "1", "EX", TTL);
      await admin.set(`${c.key_prefix}same-key`, "1", "EX", TTL);
      const store = await createRedisStore(c, TTL, { log: () => {} });
      assert.equal(store.legacy, true);
      const verdicts = await store.seen([
        { ...entry("new-format-key"), legacy: "old-format-key" }, // a re-send from before
        { ...entry("another-key"), legacy: "never-seen" },
        entry("same-key"), // a key whose format did not change, holding "1"
      ]);
      assert.deepEqual(verdicts, ["seen", "new", "seen"]);
      await store.close();
      // The window is kept in Redis: a restart within it still reads the old keys; after it, not.
      const marker = await admin.get(`${c.key_prefix}format`);
      assert.match(marker ?? "", /^2 \d+$/);
      await admin.set(`${c.key_prefix}format`, `2 ${Date.now() - TTL * 1000 - 1}`);
      const later = await createRedisStore(c, TTL, { log: () => {} });
      assert.equal(later.legacy, false);
      assert.deepEqual(await later.seen([{ ...entry("x"), legacy: "old-format-key" }]), ["new"]);
      await later.close();
    } finally {
      await admin.quit();
      await cleanup(c.key_prefix);
    }
  },
);

serviceTest(
  "redis dedup store fails with RetriableError when Redis is unreachable",
  ["redis"],
  async () => {
    const { lines, log } = logs();
    await assert.rejects(
      createRedisStore(config("redis://127.0.0.1:1"), TTL, { log }),
      (e: Error) =>
        e instanceof RetriableError &&
        e.message ===
          'Redis at "redis://127.0.0.1:1" is unreachable: connect ECONNREFUSED 127.0.0.1:1',
    );
    // The error says why; no log line besides it (the start logs each attempt once).
    assert.deepEqual(lines, []);
  },
);

serviceTest(
  "redis dedup store fails fast with RetriableError when the connection drops, then recovers",
  ["redis"],
  async () => {
    const proxy = delayingProxy(hostPort("redis"), 0);
    const c = config(`redis://127.0.0.1:${proxy.port}`);
    const { lines, log } = logs();
    const store = await createRedisStore(c, TTL, { log });
    try {
      await store.commit(list("a"));
      proxy.close(); // Redis "goes away": connections are cut, nothing listens
      const started = performance.now();
      // No offline queue: calls fail at once instead of waiting for the connection.
      await assert.rejects(store.seen(list("a")), RetriableError);
      await assert.rejects(store.commit(list("b")), RetriableError);
      await assert.rejects(store.check(), RetriableError);
      assert.ok(performance.now() - started < 1000, "calls waited for the connection");
      // The runtime retries with backoff; once Redis is back, ioredis has reconnected.
      let retries = 0;
      setTimeout(() => proxy.restart(), 300);
      const seen = await withRetry(() => store.seen(list("a", "b")), {
        baseMs: 50,
        maxMs: 500,
        onRetry: () => retries++,
      });
      assert.deepEqual(seen, ["seen", "new"]);
      assert.ok(retries > 0);
      assert.match(lines.join("\n"), /Redis at "redis:\/\/127.0.0.1:\d+" is available again/);
    } finally {
      await store.close();
      proxy.close();
      await cleanup(c.key_prefix);
    }
  },
);

/**
 * A TCP proxy that forwards requests at once and holds every reply for `delayMs` (in order). It
 * counts round trips: bursts of client writes separated by a reply reaching the client.
 */
function delayingProxy(target: { host: string; port: number }, delayMs: number) {
  let listener: Deno.Listener | undefined;
  const open = new Set<Deno.Conn>();
  let delivered = true;
  let rounds = 0;
  let port = 0;

  const pump = async (from: Deno.Conn, to: Deno.Conn, request: boolean) => {
    const buf = new Uint8Array(64 * 1024);
    let chain = Promise.resolve();
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        const chunk = buf.slice(0, n);
        if (request) {
          if (delivered) rounds++;
          delivered = false;
          await writeAll(to, chunk);
        } else {
          const due = performance.now() + delayMs;
          chain = chain.then(async () => {
            const wait = due - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
            await writeAll(to, chunk);
            delivered = true;
          });
        }
      }
      await chain;
    } catch { /* connection cut */ }
    for (const c of [from, to]) {
      if (open.delete(c)) c.close();
    }
  };

  const start = () => {
    listener = Deno.listen({ hostname: "127.0.0.1", port });
    port = (listener.addr as Deno.NetAddr).port;
    const l = listener;
    (async () => {
      try {
        for await (const client of l) {
          const server = await Deno.connect({ hostname: target.host, port: target.port });
          open.add(client);
          open.add(server);
          pump(client, server, true);
          pump(server, client, false);
        }
      } catch { /* listener closed */ }
    })();
  };
  start();

  return {
    port,
    get rounds() {
      return rounds;
    },
    reset() {
      rounds = 0;
      delivered = true;
    },
    restart: start,
    close() {
      try {
        listener?.close();
      } catch { /* already closed */ }
      listener = undefined;
      for (const c of open) c.close();
      open.clear();
    },
  };
}

async function writeAll(conn: Deno.Conn, data: Uint8Array) {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}
