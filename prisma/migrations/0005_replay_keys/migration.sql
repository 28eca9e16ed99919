-- Replay keys move from a JSON document on the shadow row (rewritten on every
-- accepted update) to an insert-only table.

-- CreateTable
CREATE TABLE "shadow_replay_keys" (
    "device_id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "version" INTEGER NOT NULL,
    "device_time" DOUBLE PRECISION NOT NULL,
    "accepted_version" INTEGER NOT NULL,

    CONSTRAINT "shadow_replay_keys_pkey" PRIMARY KEY ("device_id","seq")
);

-- Keep the keys already recorded, so replays stay recognised across the upgrade.
INSERT INTO "shadow_replay_keys" ("device_id", "seq", "version", "device_time", "accepted_version")
SELECT s."device_id", (k->>'s')::bigint, (k->>'v')::int, (k->>'t')::double precision, (k->>'a')::int
  FROM "device_shadows" s, jsonb_array_elements(s."recent_keys") AS k
ON CONFLICT DO NOTHING;

-- AlterTable
ALTER TABLE "device_shadows" DROP COLUMN "recent_keys";
