/**
 * Postgres metrics store (services target), with TimescaleDB when the server has it.
 *
 * At start it applies `infrastructure/timescaledb/init.sql` (tables, 5-minute views, helper
 * functions) and, when the `timescaledb` extension can be used, `timescale.sql` (hypertables,
 * continuous aggregates, retention policies); the decision is logged. Per batch it writes the
 * per-stream rows (`dde_event_metrics`, `bdv_event_metrics`, `acc_event_metrics`), one
 * `e2e_latency_metrics` row per event and one `event_throughput_metrics` row, in ONE statement:
 * one round trip, one transaction, rows passed as JSON whatever the batch size. Rows are idempotent
 * on the event key (and the batch row on the batch's keys), so a replayed batch adds nothing.
 * Connection failures surface as {@link RetriableError}s, so the runtime retries with backoff.
 * @module
 */
import { z } from "zod";
// The client is loaded on first use: the embedded target never pays for it.
import type postgresJs from "postgres";
import type { ComponentDef, MetricsStore } from "../core/component.ts";
import type { Envelope } from "../core/types.ts";
import { PermanentError, RetriableError } from "../core/errors.ts";
import { sha256 } from "../core/hash.ts";
import { readConfigFile, readSecret, redact } from "../core/secrets.ts";
import { caFile, connectTimeout, notBothPasswords, passwordFields } from "../core/connection.ts";

export const schema = z.strictObject({
  type: z.literal("postgres").describe("Write event metrics to Postgres (TimescaleDB if present)."),
  url: z.string().regex(/^postgres(ql)?:\/\//, 'must start with "postgres://"')
    .default("postgres://postgres@127.0.0.1:5432/test").describe(
      "Connection URL: postgres://user[:password]@host:port/database[?sslmode=require]; a " +
        'password in it must come from the environment ("${POSTGRES_URL}").',
    ),
  ...passwordFields("postgres", { overridesUrl: true }),
  sslmode: z.enum(["disable", "prefer", "require", "verify-full"]).optional().describe(
    "TLS as libpq's sslmode: prefer and require encrypt without verifying the server; " +
      "verify-full checks its certificate (against ca_file, else the system CAs) and host " +
      "name. Unset: the URL's ?sslmode=, else no TLS.",
  ),
  ca_file: caFile(" (implies sslmode verify-full)"),
  schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier")
    .default("public").describe("Database schema of the metric tables; created if missing."),
  retention_days: z.number().int().min(1).default(30).describe(
    "Metric rows older than this many days are removed.",
  ),
  connect_timeout_ms: connectTimeout(10_000),
}).check(notBothPasswords).refine((c) => !(c.ca_file && c.sslmode && c.sslmode !== "verify-full"), {
  message: "ca_file verifies the server: it needs sslmode verify-full (or no sslmode)",
  path: ["ca_file"],
}).describe("Event metrics in Postgres: plain tables and views, or TimescaleDB hypertables.");

type Config = z.infer<typeof schema>;
type Sql = ReturnType<typeof postgresJs>;

const SQL_DIR = new URL("../../infrastructure/timescaledb/", import.meta.url);
/** Serialises schema changes of concurrent starts (init.sql and timescale.sql take it too). */
const LOCK = "SELECT pg_advisory_xact_lock(hashtext('ics.metrics.init'));\n";
/** Plain mode: how often write() also deletes expired rows. */
const RETENTION_EVERY_MS = 3_600_000;

export const postgres: ComponentDef<typeof schema, MetricsStore> = {
  type: "postgres",
  schema,
  async create(config, ctx) {
    const where = redact(config.url);
    const { default: postgresJs } = await import("postgres");
    const sql: Sql = postgresJs(config.url, {
      ...(await connectionOptions(config)),
      max: 4,
      connect_timeout: config.connect_timeout_ms / 1000,
      idle_timeout: 60,
      onnotice: () => {}, // "already exists, skipping" on every start
      connection: {
        application_name: "ics",
        search_path: config.schema === "public" ? "public" : `"${config.schema}", public`,
      },
    });
    const fail = (error: unknown) => classify(error, where);
    let timescale: boolean;
    try {
      timescale = await migrate(sql, config, (m) => ctx.log("warn", m));
    } catch (error) {
      await sql.end({ timeout: 0 });
      throw fail(error);
    }
    ctx.log(
      "info",
      timescale
        ? `metrics: TimescaleDB found in "${where}": hypertables, continuous aggregates and ` +
          `retention policies (${config.retention_days} days) in schema "${config.schema}"`
        : `metrics: TimescaleDB not available in "${where}": plain tables and views in schema ` +
          `"${config.schema}", rows older than ${config.retention_days} days deleted hourly`,
    );

    let retainedAt = Date.now();
    let retaining: Promise<unknown> = Promise.resolve();
    const retain = () => {
      retainedAt = Date.now();
      retaining = sql`SELECT ics_apply_retention(${config.retention_days})`.catch((error) =>
        ctx.log("warn", `metrics: retention failed: ${error.message}`)
      );
    };

    const store: MetricsStore = {
      async write(events, batch) {
        try {
          await writeBatch(sql, events, batch);
        } catch (error) {
          throw fail(error);
        }
        if (!timescale && Date.now() - retainedAt > RETENTION_EVERY_MS) retain();
      },
      async check() {
        try {
          await sql`SELECT 1`;
        } catch (error) {
          throw fail(error);
        }
      },
      async close() {
        await retaining;
        // Nothing is in flight when the runtime closes a sink. The timeout bounds the wait on a
        // connection that broke mid-query: postgres.js would otherwise wait for it forever.
        await sql.end({ timeout: 1 });
      },
    };
    return store;
  },
};

/** Apply the schema; returns whether TimescaleDB is used. */
async function migrate(sql: Sql, config: Config, warn: (m: string) => void): Promise<boolean> {
  const state = () =>
    sql<{ available: boolean; installed: boolean }[]>`
      SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') AS available,
             EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AS installed`;
  const [{ available, installed }] = await state();
  let timescale = installed;
  if (available && !installed) {
    try {
      await sql`CREATE EXTENSION IF NOT EXISTS timescaledb`;
      timescale = true;
    } catch (error) {
      // Not preloaded, or no privilege; a concurrent start may have created it meanwhile.
      timescale = (await state())[0].installed;
      if (!timescale) {
        warn(`metrics: the timescaledb extension exists but cannot be created: ${message(error)}`);
      }
    }
  }
  // One simple-protocol query = one transaction, under the advisory lock.
  const init = await Deno.readTextFile(new URL("init.sql", SQL_DIR));
  await sql.unsafe(`${LOCK}CREATE SCHEMA IF NOT EXISTS "${config.schema}";\n${init}`);
  if (timescale) {
    await sql.unsafe(await Deno.readTextFile(new URL("timescale.sql", SQL_DIR)));
    await sql`SELECT ics_timescale_retention(${config.retention_days})`;
  } else {
    await sql`SELECT ics_apply_retention(${config.retention_days})`;
  }
  return timescale;
}

/** Every metric row of a batch in one statement (data-modifying CTEs run atomically). */
async function writeBatch(
  sql: Sql,
  events: Envelope[],
  batch: { at: number; received: number; elapsed_ms: number },
): Promise<void> {
  const dde: Record<string, unknown>[] = [];
  const bdv: Record<string, unknown>[] = [];
  const acc: Record<string, unknown>[] = [];
  const e2e: Record<string, unknown>[] = [];
  for (const { digest: key, stream, event: e } of events) {
    const event_ms = Number(e.timestamp);
    const latency_ms = batch.at - event_ms;
    const base = {
      event_key: key,
      iteration_id: e.iteration_id,
      event_type: e.event_type,
      event_ms,
    };
    e2e.push({ event_key: key, stream, event_ms, latency_ms });
    if (stream === "dde") {
      dde.push({
        ...base,
        latency_ms,
        workflow_id: text(e.workflow_id),
        node_id: text(e.node_id),
        status: text(e.status),
        attempt: int32(e.attempt),
        duration_ms: int64(e.duration_ms),
      });
    } else if (stream === "bdv") {
      bdv.push({
        ...base,
        latency_ms,
        test_run_id: text(e.test_run_id),
        feature_file: text(e.feature_file),
        scenario_id: text(e.scenario_id),
        status: text(e.status),
        duration_ms: int64(e.duration_ms),
        flake_rate: float(e.flake_rate),
      });
    } else if (stream === "acc") {
      acc.push({
        ...base,
        latency_ms,
        analysis_id: text(e.analysis_id),
        module_name: text(e.module_name),
        severity: text(e.severity),
        fan_in: int32(e.fan_in),
        fan_out: int32(e.fan_out),
        instability: float(e.instability),
      });
    }
  }
  const batchKey = sha256(`${batch.at}:${batch.received}:${events.map((e) => e.digest).join(",")}`);
  const perSecond = batch.elapsed_ms > 0 ? events.length / (batch.elapsed_ms / 1000) : null;
  await sql`
    WITH b AS (SELECT to_timestamp(${batch.at}::float8 / 1000) AS at),
    dde AS (
      INSERT INTO dde_event_metrics (event_key, iteration_id, event_type, event_time, processed_at,
        latency_ms, workflow_id, node_id, status, attempt, duration_ms)
      SELECT r.event_key, r.iteration_id, r.event_type, to_timestamp(r.event_ms / 1000.0), b.at,
        r.latency_ms, r.workflow_id, r.node_id, r.status, r.attempt, r.duration_ms
      FROM b, json_to_recordset(${JSON.stringify(dde)}::text::json) AS r(event_key text,
        iteration_id text, event_type text, event_ms bigint, latency_ms bigint, workflow_id text,
        node_id text, status text, attempt integer, duration_ms bigint)
      ON CONFLICT DO NOTHING
    ),
    bdv AS (
      INSERT INTO bdv_event_metrics (event_key, iteration_id, event_type, event_time, processed_at,
        latency_ms, test_run_id, feature_file, scenario_id, status, duration_ms, flake_rate)
      SELECT r.event_key, r.iteration_id, r.event_type, to_timestamp(r.event_ms / 1000.0), b.at,
        r.latency_ms, r.test_run_id, r.feature_file, r.scenario_id, r.status, r.duration_ms,
        r.flake_rate
      FROM b, json_to_recordset(${JSON.stringify(bdv)}::text::json) AS r(event_key text,
        iteration_id text, event_type text, event_ms bigint, latency_ms bigint, test_run_id text,
        feature_file text, scenario_id text, status text, duration_ms bigint,
        flake_rate double precision)
      ON CONFLICT DO NOTHING
    ),
    acc AS (
      INSERT INTO acc_event_metrics (event_key, iteration_id, event_type, event_time, processed_at,
        latency_ms, analysis_id, module_name, severity, fan_in, fan_out, instability)
      SELECT r.event_key, r.iteration_id, r.event_type, to_timestamp(r.event_ms / 1000.0), b.at,
        r.latency_ms, r.analysis_id, r.module_name, r.severity, r.fan_in, r.fan_out, r.instability
      FROM b, json_to_recordset(${JSON.stringify(acc)}::text::json) AS r(event_key text,
        iteration_id text, event_type text, event_ms bigint, latency_ms bigint, analysis_id text,
        module_name text, severity text, fan_in integer, fan_out integer,
        instability double precision)
      ON CONFLICT DO NOTHING
    ),
    e2e AS (
      INSERT INTO e2e_latency_metrics (event_key, stream, event_time, processed_at, latency_ms)
      SELECT r.event_key, r.stream, to_timestamp(r.event_ms / 1000.0), b.at, r.latency_ms
      FROM b, json_to_recordset(${
    JSON.stringify(e2e)
  }::text::json) AS r(event_key text, stream text,
        event_ms bigint, latency_ms bigint)
      ON CONFLICT DO NOTHING
    )
    INSERT INTO event_throughput_metrics (batch_key, at, received, processed, elapsed_ms,
      events_per_second)
    SELECT ${batchKey}, b.at, ${batch.received}::integer, ${events.length}::integer,
      ${batch.elapsed_ms}::float8, ${perSecond}::float8
    FROM b
    ON CONFLICT DO NOTHING`;
}

const text = (v: unknown) => typeof v === "string" ? v : null;
const float = (v: unknown) => typeof v === "number" && Number.isFinite(v) ? v : null;
const int64 = (v: unknown) => {
  const n = typeof v === "bigint" ? Number(v) : v;
  return typeof n === "number" && Number.isFinite(n) ? Math.round(n) : null;
};
const int32 = (v: unknown) => {
  const n = int64(v);
  return n !== null && Math.abs(n) < 2 ** 31 ? n : null;
};

/** Node socket errors and postgres.js connection errors: the server may come back. */
const CONNECTION_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
]);
/** SQLSTATEs worth retrying: connection exceptions, serialization failures and deadlocks,
 * insufficient resources, shutdown and cancellation, lock timeouts. */
const TRANSIENT_SQLSTATE = /^(08|53|40001|40P01|57P0[123]|57014|55P03)/;
/** SQLSTATEs of values the database refuses: data exceptions (a number out of range, text it
 * cannot hold) and integrity constraint violations. The events go to the dead-letter queue. */
const DATA_SQLSTATE = /^(22|23)/;

function classify(error: unknown, where: string): Error {
  if (error instanceof RetriableError || error instanceof PermanentError) return error;
  const e = error instanceof Error ? error : new Error(String(error));
  const code = String((e as { code?: unknown }).code ?? "");
  const postgres = e.name === "PostgresError";
  const text = redact(e.message);
  if (postgres ? TRANSIENT_SQLSTATE.test(code) : CONNECTION_CODES.has(code)) {
    return new RetriableError(`Postgres at "${where}" is unavailable: ${text}`, { cause: e });
  }
  if (postgres && DATA_SQLSTATE.test(code)) {
    return new PermanentError(`Postgres at "${where}" refused a value: ${text} (${code})`, {
      cause: e,
    });
  }
  e.message = `Postgres at "${where}": ${text}`;
  return e;
}

const message = (error: unknown) => error instanceof Error ? error.message : String(error);

/** postgres.js's `password` and `ssl` options from the config (secret files read here). */
export async function connectionOptions(
  config: Pick<Config, "password" | "password_file" | "sslmode" | "ca_file">,
): Promise<{ password?: string; ssl?: boolean | "prefer" | "require" | "verify-full" | object }> {
  const password = await readSecret(
    config.password,
    config.password_file,
    "postgres password_file",
  );
  const out: { password?: string; ssl?: boolean | "prefer" | "require" | "verify-full" | object } =
    password === undefined ? {} : { password };
  if (config.ca_file) {
    // Node's TLS checks the host name against the certificate by default (verify-full).
    out.ssl = {
      ca: await readConfigFile(config.ca_file, "postgres ca_file"),
      rejectUnauthorized: true,
    };
  } else if (config.sslmode) out.ssl = config.sslmode === "disable" ? false : config.sslmode;
  return out;
}
