-- AlterTable
ALTER TABLE "rollouts" ADD COLUMN     "guard_since" TIMESTAMPTZ(3),
ADD COLUMN     "paused_by" TEXT;
