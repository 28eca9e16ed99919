-- Every accepted update rewrites a shadow's kept changes and its metadata whole,
-- and nothing looks inside them in a hot query: as `jsonb` each write paid for
-- building the binary form (and stored ~1.7× the bytes, all of it WAL); as
-- `json` the text is only validated and kept. The ingest's shadow write costs
-- about half as much in PostgreSQL. Queries that look inside cast to jsonb.
-- Rewrites the table (ACCESS EXCLUSIVE while it runs): on a large fleet, run
-- it in a quiet hour.
ALTER TABLE "device_shadows" ALTER COLUMN "metadata" SET DATA TYPE JSON,
ALTER COLUMN "changes" SET DATA TYPE JSON;
