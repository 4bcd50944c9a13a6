-- TimescaleDB layer of the ics metrics schema (needs TimescaleDB >= 2.7 for percentile_cont and
-- FILTER in continuous aggregates). Applied by the `postgres` metrics sink after init.sql, only
-- when `CREATE EXTENSION timescaledb` succeeded; same search_path, one transaction, same advisory
-- lock, idempotent. By hand:
--   psql -1 -v ON_ERROR_STOP=1 -f infrastructure/timescaledb/timescale.sql "$POSTGRES_URL"
--
-- The tables become hypertables on their time column (existing rows are migrated), the plain *_5m
-- views become continuous aggregates with the same columns (real-time: recent, not yet
-- materialized rows are included), and ics_timescale_retention(days) installs retention policies.

SELECT pg_advisory_xact_lock(hashtext('ics.metrics.init'));

SELECT create_hypertable(t::regclass, c::name, chunk_time_interval => INTERVAL '1 day',
                         if_not_exists => TRUE, migrate_data => TRUE,
                         create_default_indexes => FALSE)
FROM (VALUES ('dde_event_metrics', 'event_time'), ('bdv_event_metrics', 'event_time'),
             ('acc_event_metrics', 'event_time'), ('e2e_latency_metrics', 'event_time'),
             ('event_throughput_metrics', 'at')) AS h(t, c);

-- Drop the plain views of init.sql (known by their comment): continuous aggregates replace them.
DO $$
DECLARE
  v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['dde_event_metrics_5m', 'bdv_event_metrics_5m', 'acc_event_metrics_5m',
                           'e2e_latency_metrics_5m', 'event_throughput_metrics_5m'] LOOP
    IF obj_description(to_regclass(v), 'pg_class') = 'ics: plain 5-minute view' THEN
      EXECUTE format('DROP VIEW %I', v);
    END IF;
  END LOOP;
END $$;

CREATE MATERIALIZED VIEW IF NOT EXISTS dde_event_metrics_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', event_time) AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE status = 'FAILED') AS failed,
         avg(duration_ms)::double precision AS avg_duration_ms,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM dde_event_metrics
  GROUP BY bucket, event_type
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS bdv_event_metrics_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', event_time) AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE status = 'FAILED') AS failed,
         avg(duration_ms)::double precision AS avg_duration_ms,
         max(flake_rate) AS max_flake_rate,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM bdv_event_metrics
  GROUP BY bucket, event_type
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS acc_event_metrics_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', event_time) AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE severity IN ('ERROR', 'CRITICAL')) AS severe,
         max(instability) AS max_instability,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM acc_event_metrics
  GROUP BY bucket, event_type
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS e2e_latency_metrics_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', event_time) AS bucket,
         stream,
         count(*) AS events,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
         max(latency_ms) AS max_latency_ms
  FROM e2e_latency_metrics
  GROUP BY bucket, stream
WITH NO DATA;

CREATE MATERIALIZED VIEW IF NOT EXISTS event_throughput_metrics_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
  SELECT time_bucket(INTERVAL '5 minutes', at) AS bucket,
         count(*) AS batches,
         sum(received) AS received,
         sum(processed) AS processed,
         sum(processed) / 300.0 AS events_per_second,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY elapsed_ms) AS p95_batch_ms
  FROM event_throughput_metrics
  GROUP BY bucket
WITH NO DATA;

SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '1 day',
                                       end_offset => INTERVAL '5 minutes',
                                       schedule_interval => INTERVAL '5 minutes',
                                       if_not_exists => TRUE)
FROM unnest(ARRAY['dde_event_metrics_5m', 'bdv_event_metrics_5m', 'acc_event_metrics_5m',
                  'e2e_latency_metrics_5m', 'event_throughput_metrics_5m']::regclass[]) AS v;

-- Retention policies on every metric hypertable: chunks older than `days` days (by event time,
-- the hypertables' time column) are dropped. A policy with another interval is replaced.
CREATE OR REPLACE FUNCTION ics_timescale_retention(days integer) RETURNS void
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  t regclass;
  wanted interval := make_interval(days => $1);
BEGIN
  FOREACH t IN ARRAY ARRAY['dde_event_metrics', 'bdv_event_metrics', 'acc_event_metrics',
                           'e2e_latency_metrics', 'event_throughput_metrics']::regclass[] LOOP
    IF NOT EXISTS (
      SELECT 1 FROM timescaledb_information.jobs j
      WHERE j.proc_name = 'policy_retention'
        AND format('%I.%I', j.hypertable_schema, j.hypertable_name)::regclass = t
        AND (j.config ->> 'drop_after')::interval = wanted
    ) THEN
      PERFORM remove_retention_policy(t, if_exists => TRUE);
      PERFORM add_retention_policy(t, wanted);
    END IF;
  END LOOP;
END $$;
