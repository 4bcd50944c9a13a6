-- ics metrics schema for Postgres, with or without TimescaleDB.
--
-- Applied by the `postgres` metrics sink (src/sinks/postgres_metrics.ts) on every start, in the
-- first schema of the search_path. Everything is IF NOT EXISTS / CREATE OR REPLACE, and the whole
-- file runs as one transaction holding an advisory lock, so concurrent starts are safe. By hand:
--   psql -1 -v ON_ERROR_STOP=1 -f infrastructure/timescaledb/init.sql "$POSTGRES_URL"
-- When the timescaledb extension exists, timescale.sql is applied after this file: it turns the
-- tables into hypertables and the *_5m views into continuous aggregates of the same shape.
--
-- Rows are idempotent on (event_key, event_time): a replayed batch adds nothing. event_time is the
-- event's own timestamp (valid time), processed_at when the runner handled it, latency_ms the
-- difference (end-to-end latency). Time columns get BRIN indexes: rows arrive roughly in time
-- order, and a BRIN index costs next to nothing per insert (B-trees here cost a third of the
-- write rate).

SELECT pg_advisory_xact_lock(hashtext('ics.metrics.init'));

-- Per-stream event metrics ---------------------------------------------------------------------

CREATE TABLE IF NOT EXISTS dde_event_metrics (
  event_key    text             NOT NULL,
  iteration_id text             NOT NULL,
  event_type   text             NOT NULL,
  event_time   timestamptz      NOT NULL,
  processed_at timestamptz      NOT NULL,
  latency_ms   bigint           NOT NULL,
  workflow_id  text,
  node_id      text,
  status       text,
  attempt      integer,
  duration_ms  bigint,
  PRIMARY KEY (event_key, event_time)
);
CREATE INDEX IF NOT EXISTS dde_event_metrics_time_brin ON dde_event_metrics USING brin (event_time);

CREATE TABLE IF NOT EXISTS bdv_event_metrics (
  event_key    text             NOT NULL,
  iteration_id text             NOT NULL,
  event_type   text             NOT NULL,
  event_time   timestamptz      NOT NULL,
  processed_at timestamptz      NOT NULL,
  latency_ms   bigint           NOT NULL,
  test_run_id  text,
  feature_file text,
  scenario_id  text,
  status       text,
  duration_ms  bigint,
  flake_rate   double precision,
  PRIMARY KEY (event_key, event_time)
);
CREATE INDEX IF NOT EXISTS bdv_event_metrics_time_brin ON bdv_event_metrics USING brin (event_time);

CREATE TABLE IF NOT EXISTS acc_event_metrics (
  event_key    text             NOT NULL,
  iteration_id text             NOT NULL,
  event_type   text             NOT NULL,
  event_time   timestamptz      NOT NULL,
  processed_at timestamptz      NOT NULL,
  latency_ms   bigint           NOT NULL,
  analysis_id  text,
  module_name  text,
  severity     text,
  fan_in       integer,
  fan_out      integer,
  instability  double precision,
  PRIMARY KEY (event_key, event_time)
);
CREATE INDEX IF NOT EXISTS acc_event_metrics_time_brin ON acc_event_metrics USING brin (event_time);

-- End-to-end latency (one row per event, every stream) and throughput (one row per batch) -------

CREATE TABLE IF NOT EXISTS e2e_latency_metrics (
  event_key    text        NOT NULL,
  stream       text        NOT NULL,
  event_time   timestamptz NOT NULL,
  processed_at timestamptz NOT NULL,
  latency_ms   bigint      NOT NULL,
  PRIMARY KEY (event_key, event_time)
);
CREATE INDEX IF NOT EXISTS e2e_latency_metrics_time_brin
  ON e2e_latency_metrics USING brin (event_time);
CREATE INDEX IF NOT EXISTS e2e_latency_metrics_processed_brin
  ON e2e_latency_metrics USING brin (processed_at);

CREATE TABLE IF NOT EXISTS event_throughput_metrics (
  -- sha256 of the batch's time and event keys: a retried batch write adds no second row.
  batch_key         text             NOT NULL,
  at                timestamptz      NOT NULL,
  received          integer          NOT NULL,
  processed         integer          NOT NULL,
  elapsed_ms        double precision NOT NULL,
  events_per_second double precision,
  PRIMARY KEY (batch_key, at)
);
CREATE INDEX IF NOT EXISTS event_throughput_metrics_at_idx ON event_throughput_metrics (at DESC);

-- 5-minute aggregates ---------------------------------------------------------------------------
-- Plain views here; timescale.sql replaces them with continuous aggregates of the same columns.
-- A view is (re)defined only when absent or still the plain one (its comment says so), so a
-- continuous aggregate of the same name is never overwritten by a later start.

CREATE OR REPLACE FUNCTION ics_plain_view(name text, query text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF to_regclass(name) IS NOT NULL
     AND obj_description(to_regclass(name), 'pg_class') IS DISTINCT FROM 'ics: plain 5-minute view'
  THEN
    RETURN;
  END IF;
  EXECUTE format('CREATE OR REPLACE VIEW %I AS %s', name, query);
  EXECUTE format('COMMENT ON VIEW %I IS %L', name, 'ics: plain 5-minute view');
END $$;

SELECT ics_plain_view('dde_event_metrics_5m', $q$
  SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE status = 'FAILED') AS failed,
         avg(duration_ms)::double precision AS avg_duration_ms,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM dde_event_metrics
  GROUP BY 1, 2
$q$);

SELECT ics_plain_view('bdv_event_metrics_5m', $q$
  SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE status = 'FAILED') AS failed,
         avg(duration_ms)::double precision AS avg_duration_ms,
         max(flake_rate) AS max_flake_rate,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM bdv_event_metrics
  GROUP BY 1, 2
$q$);

SELECT ics_plain_view('acc_event_metrics_5m', $q$
  SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         event_type,
         count(*) AS events,
         count(*) FILTER (WHERE severity IN ('ERROR', 'CRITICAL')) AS severe,
         max(instability) AS max_instability,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms
  FROM acc_event_metrics
  GROUP BY 1, 2
$q$);

SELECT ics_plain_view('e2e_latency_metrics_5m', $q$
  SELECT date_bin('5 minutes', event_time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         stream,
         count(*) AS events,
         avg(latency_ms)::double precision AS avg_latency_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_latency_ms,
         max(latency_ms) AS max_latency_ms
  FROM e2e_latency_metrics
  GROUP BY 1, 2
$q$);

SELECT ics_plain_view('event_throughput_metrics_5m', $q$
  SELECT date_bin('5 minutes', at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
         count(*) AS batches,
         sum(received) AS received,
         sum(processed) AS processed,
         sum(processed) / 300.0 AS events_per_second,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY elapsed_ms) AS p95_batch_ms
  FROM event_throughput_metrics
  GROUP BY 1
$q$);

-- Helper functions ------------------------------------------------------------------------------

-- p95 end-to-end latency (ms) of the events of a stream (NULL: every stream) processed in the
-- last `since`; NULL when there were none.
CREATE OR REPLACE FUNCTION ics_p95_latency(stream text, since interval DEFAULT '5 minutes')
RETURNS double precision
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY m.latency_ms)
  FROM e2e_latency_metrics m
  WHERE m.processed_at >= now() - ics_p95_latency.since
    AND (ics_p95_latency.stream IS NULL OR m.stream = ics_p95_latency.stream)
$$;

-- Events processed per second over the last `since` (0 when idle).
CREATE OR REPLACE FUNCTION ics_throughput(since interval DEFAULT '5 minutes')
RETURNS double precision
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT coalesce(sum(t.processed), 0)::double precision
         / greatest(extract(epoch FROM ics_throughput.since)::double precision, 0.001)
  FROM event_throughput_metrics t
  WHERE t.at >= now() - ics_throughput.since
$$;

-- Retention for plain tables: deletes rows older than `days` days, counted from the event time
-- and from the processing time (a replay of old events stays visible for the window). Returns
-- the number of rows deleted. With TimescaleDB, add_retention_policy drops whole chunks instead.
CREATE OR REPLACE FUNCTION ics_apply_retention(days integer)
RETURNS bigint
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  cutoff timestamptz := now() - make_interval(days => $1);
  n bigint;
  total bigint := 0;
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['dde_event_metrics', 'bdv_event_metrics', 'acc_event_metrics',
                           'e2e_latency_metrics'] LOOP
    EXECUTE format('DELETE FROM %I WHERE event_time < $1 AND processed_at < $1', t) USING cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
  END LOOP;
  DELETE FROM event_throughput_metrics WHERE at < cutoff;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN total + n;
END $$;
