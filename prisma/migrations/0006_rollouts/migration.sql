-- CreateEnum
CREATE TYPE "RolloutState" AS ENUM ('awaiting_approval', 'running', 'paused', 'completed', 'aborted');

-- CreateEnum
CREATE TYPE "WaveState" AS ENUM ('pending', 'running', 'passed', 'completed', 'aborted');

-- CreateEnum
CREATE TYPE "ExecutionState" AS ENUM ('pending', 'notified', 'in_progress', 'retry_wait', 'succeeded', 'failed', 'timed_out', 'cancelled');

-- CreateTable
CREATE TABLE "firmware" (
    "id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "device_type" TEXT NOT NULL,
    "compatible_hardware" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "min_version" TEXT,
    "release_notes" TEXT NOT NULL DEFAULT '',
    "sha256" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "file_name" TEXT NOT NULL,
    "signature_key_id" TEXT,
    "uploaded_by_id" UUID,
    "uploaded_by_label" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "firmware_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollouts" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "firmware_id" UUID NOT NULL,
    "state" "RolloutState" NOT NULL,
    "paused_reason" TEXT,
    "targeting" JSONB NOT NULL DEFAULT '{}',
    "strategy" JSONB NOT NULL,
    "settings" JSONB NOT NULL,
    "seed" TEXT NOT NULL,
    "current_wave" INTEGER NOT NULL DEFAULT 0,
    "device_count" INTEGER NOT NULL,
    "requires_approval" BOOLEAN NOT NULL DEFAULT false,
    "created_by_id" UUID,
    "created_by_label" TEXT NOT NULL,
    "approved_by_id" UUID,
    "approved_by_label" TEXT,
    "approved_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollouts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout_waves" (
    "rollout_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "size" INTEGER NOT NULL,
    "state" "WaveState" NOT NULL DEFAULT 'pending',
    "started_at" TIMESTAMPTZ(3),
    "gate_passed_at" TIMESTAMPTZ(3),
    "gate_text" TEXT,

    CONSTRAINT "rollout_waves_pkey" PRIMARY KEY ("rollout_id","index")
);

-- CreateTable
CREATE TABLE "rollout_executions" (
    "rollout_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "wave_index" INTEGER NOT NULL,
    "state" "ExecutionState" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "error_code" TEXT,
    "last_status" TEXT,
    "reported_version" TEXT,
    "notified_version" INTEGER,
    "observed_version" INTEGER,
    "notified_at" TIMESTAMPTZ(3),
    "deadline_at" TIMESTAMPTZ(3),
    "retry_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollout_executions_pkey" PRIMARY KEY ("rollout_id","device_id")
);

-- CreateTable
CREATE TABLE "rollout_skips" (
    "rollout_id" UUID NOT NULL,
    "device_id" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "detail" TEXT NOT NULL,

    CONSTRAINT "rollout_skips_pkey" PRIMARY KEY ("rollout_id","device_id")
);

-- CreateIndex
CREATE INDEX "firmware_created_at_idx" ON "firmware"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "firmware_device_type_version_key" ON "firmware"("device_type", "version");

-- CreateIndex
CREATE INDEX "rollouts_state_idx" ON "rollouts"("state");

-- CreateIndex
CREATE INDEX "rollouts_created_at_idx" ON "rollouts"("created_at");

-- CreateIndex
CREATE INDEX "rollout_executions_rollout_id_wave_index_state_idx" ON "rollout_executions"("rollout_id", "wave_index", "state");

-- CreateIndex
CREATE INDEX "rollout_executions_device_id_idx" ON "rollout_executions"("device_id");

-- AddForeignKey
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_firmware_id_fkey" FOREIGN KEY ("firmware_id") REFERENCES "firmware"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_waves" ADD CONSTRAINT "rollout_waves_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "rollouts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_executions" ADD CONSTRAINT "rollout_executions_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "rollouts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_skips" ADD CONSTRAINT "rollout_skips_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "rollouts"("id") ON DELETE CASCADE ON UPDATE CASCADE;
