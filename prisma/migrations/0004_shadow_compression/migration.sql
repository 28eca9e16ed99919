-- Every accepted update rewrites a shadow's documents (the replay window alone
-- is ~4 KB), and pglz compression of those TOASTed values was most of the
-- database's CPU per update. lz4 is several times cheaper. Servers built
-- without lz4 keep pglz; nothing else changes.
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    BEGIN
      ALTER TABLE device_shadows
        ALTER COLUMN recent_keys SET COMPRESSION lz4,
        ALTER COLUMN reported SET COMPRESSION lz4,
        ALTER COLUMN desired SET COMPRESSION lz4,
        ALTER COLUMN metadata SET COMPRESSION lz4,
        ALTER COLUMN changes SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
      RAISE NOTICE 'lz4 is not available on this server: shadow documents stay pglz-compressed';
    END;
  END IF;
END $$;
