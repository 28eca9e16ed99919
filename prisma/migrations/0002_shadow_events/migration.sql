-- shadow_events: every shadow message the ingest decided on (accepted,
-- duplicate, rejected or informational), with server and device time, plus
-- shadow_events_1m, per-minute counts for the charts.
--
-- Not Prisma models: the storage depends on whether TimescaleDB can be used
-- on this server, so this migration picks one of two layouts, once:
--   * TimescaleDB: hypertable with 1-day chunks, compressed after 7 days
--     (segmented by device), dropped after 90 days by a retention policy, and
--     shadow_events_1m as a continuous aggregate.
--   * plain PostgreSQL: range partitions per UTC day plus a default partition;
--     the worker creates partitions ahead and drops old ones, and
--     shadow_events_1m is a table the ingest bumps in its own transaction.
-- server/db/timeseries.ts is the only code that knows which layout a database
-- has; nothing else branches on it.
--
-- Every TimescaleDB call goes through EXECUTE so that this file is valid SQL,
-- and runs, on a server without the extension.
--
-- kind (update | get | sync_request | sync_complete | status) and outcome
-- (accepted | duplicate | rejected | info) carry no CHECK constraint on
-- purpose: adding a kind later would mean altering constraints on compressed
-- chunks. The writer's types (server/db/timeseries.ts) are the guard.

DO $migration$
DECLARE
  preload text;
  use_timescale boolean;
  day_start date;
  columns constant text := $cols$
    device_id        text NOT NULL,
    server_time      timestamptz(3) NOT NULL,
    device_time      timestamptz(3),
    kind             text NOT NULL,
    outcome          text NOT NULL,
    code             text,
    seq              bigint,
    version          integer,
    accepted_version integer,
    clock_skew_sec   real,
    payload          jsonb
  $cols$;
BEGIN
  -- The extension can be created only when the server preloads its library.
  -- Reading shared_preload_libraries needs superuser or pg_read_all_settings;
  -- without either, an extension someone already installed still counts.
  BEGIN
    preload := current_setting('shared_preload_libraries', true);
  EXCEPTION WHEN insufficient_privilege THEN
    preload := NULL;
  END;
  use_timescale :=
    EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
    OR (
      EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb')
      AND coalesce(preload, '') ~ '(^|[\s,"/])timescaledb([\s,"]|$)'
    );

  IF use_timescale THEN
    EXECUTE 'CREATE EXTENSION IF NOT EXISTS timescaledb';
    EXECUTE format('CREATE TABLE IF NOT EXISTS shadow_events (%s)', columns);
    EXECUTE $sql$
      SELECT create_hypertable('shadow_events', 'server_time',
        chunk_time_interval => INTERVAL '1 day', if_not_exists => TRUE)
    $sql$;
    CREATE INDEX IF NOT EXISTS shadow_events_device_time_idx ON shadow_events (device_id, server_time DESC);
    EXECUTE $sql$
      ALTER TABLE shadow_events SET (
        timescaledb.compress,
        timescaledb.compress_segmentby = 'device_id',
        timescaledb.compress_orderby = 'server_time DESC')
    $sql$;
    EXECUTE $sql$SELECT add_compression_policy('shadow_events', INTERVAL '7 days', if_not_exists => TRUE)$sql$;
    EXECUTE $sql$SELECT add_retention_policy('shadow_events', INTERVAL '90 days', if_not_exists => TRUE)$sql$;
    -- WITH NO DATA: a continuous aggregate may be created inside a transaction
    -- only when it is not materialized at once; the policy fills it.
    -- materialized_only = false: charts see the last minutes before the
    -- policy has materialized them.
    EXECUTE $sql$
      CREATE MATERIALIZED VIEW IF NOT EXISTS shadow_events_1m
      WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
      SELECT time_bucket(INTERVAL '1 minute', server_time) AS bucket,
             sum(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END) AS accepted,
             sum(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END) AS duplicate,
             sum(CASE WHEN outcome = 'rejected' THEN 1 ELSE 0 END) AS rejected
      FROM shadow_events
      GROUP BY time_bucket(INTERVAL '1 minute', server_time)
      WITH NO DATA
    $sql$;
    EXECUTE $sql$
      SELECT add_continuous_aggregate_policy('shadow_events_1m',
        start_offset => INTERVAL '3 hours', end_offset => INTERVAL '1 minute',
        schedule_interval => INTERVAL '1 minute', if_not_exists => TRUE)
    $sql$;
  ELSE
    EXECUTE format('CREATE TABLE IF NOT EXISTS shadow_events (%s) PARTITION BY RANGE (server_time)', columns);
    -- Catches rows no daily partition covers yet, so an insert never fails
    -- because the worker was down when a partition was due.
    CREATE TABLE IF NOT EXISTS shadow_events_default PARTITION OF shadow_events DEFAULT;
    CREATE INDEX IF NOT EXISTS shadow_events_device_time_idx ON shadow_events (device_id, server_time DESC);
    -- Today and three days ahead (UTC), the same names and bounds as
    -- ensurePartitions() in server/db/timeseries.ts, so a fresh database
    -- takes events before the worker first runs.
    FOR offset_days IN 0..3 LOOP
      day_start := (now() AT TIME ZONE 'UTC')::date + offset_days;
      EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF shadow_events FOR VALUES FROM (%L) TO (%L)',
        'shadow_events_p' || to_char(day_start, 'YYYYMMDD'),
        to_char(day_start, 'YYYY-MM-DD') || ' 00:00:00+00',
        to_char(day_start + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
    END LOOP;
    CREATE TABLE IF NOT EXISTS shadow_events_1m (
      bucket    timestamptz NOT NULL,
      accepted  integer NOT NULL DEFAULT 0,
      duplicate integer NOT NULL DEFAULT 0,
      rejected  integer NOT NULL DEFAULT 0,
      CONSTRAINT shadow_events_1m_pkey PRIMARY KEY (bucket)
    );
  END IF;
END
$migration$;
