-- AlterTable
ALTER TABLE "device_shadows" ADD COLUMN     "changes" JSONB NOT NULL DEFAULT '[]';

-- CreateTable
CREATE TABLE "device_type_settings" (
    "type" TEXT NOT NULL,
    "max_clock_skew_sec" INTEGER NOT NULL DEFAULT 300,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_type_settings_pkey" PRIMARY KEY ("type")
);

-- CreateTable
CREATE TABLE "device_findings" (
    "id" BIGSERIAL NOT NULL,
    "device_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "severity" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "count" INTEGER NOT NULL DEFAULT 1,
    "first_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_seen_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "device_findings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mqtt_outbox" (
    "id" BIGSERIAL NOT NULL,
    "device_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "mqtt_outbox_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_findings_device_id_last_seen_at_idx" ON "device_findings"("device_id", "last_seen_at");

-- CreateIndex
CREATE INDEX "device_findings_kind_resolved_at_idx" ON "device_findings"("kind", "resolved_at");

-- CreateIndex
CREATE INDEX "mqtt_outbox_published_at_id_idx" ON "mqtt_outbox"("published_at", "id");

-- Unpublished outbox rows are what the worker scans for.
CREATE INDEX IF NOT EXISTS "mqtt_outbox_pending_idx" ON "mqtt_outbox" ("id") WHERE "published_at" IS NULL;

-- Wake the worker when outbox rows commit (delivered at COMMIT, once per statement).
CREATE OR REPLACE FUNCTION fleetwave_notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('fleetwave_outbox', '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS mqtt_outbox_notify ON "mqtt_outbox";
CREATE TRIGGER mqtt_outbox_notify AFTER INSERT ON "mqtt_outbox" FOR EACH STATEMENT EXECUTE FUNCTION fleetwave_notify_outbox();

-- Payloads over NOTIFY's 8000-byte limit for the socket.io Postgres adapter/emitter.
CREATE TABLE IF NOT EXISTS socket_io_attachments (
  id         bigserial UNIQUE,
  created_at timestamptz DEFAULT now(),
  payload    bytea
);

-- At most one open finding per device and kind: repeats bump its count.
CREATE UNIQUE INDEX IF NOT EXISTS "device_findings_open_idx" ON "device_findings" ("device_id", "kind") WHERE "resolved_at" IS NULL;
