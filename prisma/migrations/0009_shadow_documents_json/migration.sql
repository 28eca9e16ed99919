-- Every accepted update rewrites a shadow's kept changes and its metadata whole,
-- and nothing looks inside them in a hot query: as `jsonb` each write paid for
-- building the binary form (and stored ~1.7× the bytes, all of it WAL); as
-- `json` the text is only validated and kept (the shadow row's update costs
-- about half as much in PostgreSQL; the ingest's whole statement about a
-- quarter less). Queries that look inside cast to jsonb.
-- Rewrites the table (ACCESS EXCLUSIVE while it runs): on a large fleet, run
-- it in a quiet hour.
ALTER TABLE "device_shadows" ALTER COLUMN "metadata" SET DATA TYPE JSON,
ALTER COLUMN "changes" SET DATA TYPE JSON;

-- A new type resets a column's compression to the default (pglz): keep 0004's lz4.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    BEGIN
      ALTER TABLE device_shadows
        ALTER COLUMN metadata SET COMPRESSION lz4,
        ALTER COLUMN changes SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
      RAISE NOTICE 'lz4 is not available on this server: shadow documents stay pglz-compressed';
    END;
  END IF;
END $$;
