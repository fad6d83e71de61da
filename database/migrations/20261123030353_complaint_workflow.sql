-- +goose Up
-- modify "complaint_photos" table
ALTER TABLE "complaint_photos" ADD COLUMN "location_removed" boolean NOT NULL DEFAULT false, ADD COLUMN "location_flagged" boolean NOT NULL DEFAULT false;
-- modify "complaints" table: the new clock columns are filled from the
-- existing deadlines before they become NOT NULL (hand-edited backfill).
ALTER TABLE "complaints" ADD COLUMN "response_risk_at" timestamptz NULL, ADD COLUMN "resolution_started_at" timestamptz NULL, ADD COLUMN "resolution_risk_at" timestamptz NULL, ADD COLUMN "reopen_count" bigint NOT NULL DEFAULT 0, ADD COLUMN "rated_at" timestamptz NULL;
UPDATE "complaints" SET "resolution_started_at" = "created_at",
  "response_risk_at" = "response_due_at" - ("response_due_at" - "created_at") / 5,
  "resolution_risk_at" = "resolution_due_at" - ("resolution_due_at" - "created_at") / 5;
-- a reopened complaint is back in progress (SPEC.md §3.3)
UPDATE "complaints" SET "status" = 'IN_PROGRESS', "reopen_count" = 1 WHERE "status" = 'REOPENED';
UPDATE "complaints" SET "rated_at" = "updated_at" WHERE "rating" IS NOT NULL;
ALTER TABLE "complaints" ALTER COLUMN "response_risk_at" SET NOT NULL, ALTER COLUMN "resolution_started_at" SET NOT NULL, ALTER COLUMN "resolution_risk_at" SET NOT NULL;

-- +goose Down
-- reverse: modify "complaints" table
UPDATE "complaints" SET "status" = 'REOPENED' WHERE "status" = 'IN_PROGRESS' AND "reopen_count" > 0;
ALTER TABLE "complaints" DROP COLUMN "rated_at", DROP COLUMN "reopen_count", DROP COLUMN "resolution_risk_at", DROP COLUMN "resolution_started_at", DROP COLUMN "response_risk_at";
-- reverse: modify "complaint_photos" table
ALTER TABLE "complaint_photos" DROP COLUMN "location_flagged", DROP COLUMN "location_removed";
