-- +goose Up
-- modify "projects" table
ALTER TABLE "projects" ALTER COLUMN "protection_days" DROP NOT NULL, ALTER COLUMN "hold_minutes" DROP NOT NULL, ALTER COLUMN "agent_discount_cap_bp" DROP NOT NULL;

-- +goose Down
-- reverse: modify "projects" table
ALTER TABLE "projects" ALTER COLUMN "agent_discount_cap_bp" SET NOT NULL, ALTER COLUMN "hold_minutes" SET NOT NULL, ALTER COLUMN "protection_days" SET NOT NULL;
