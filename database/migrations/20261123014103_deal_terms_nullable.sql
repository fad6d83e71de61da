-- +goose Up
-- modify "deals" table
ALTER TABLE "deals" ALTER COLUMN "price" DROP NOT NULL, ALTER COLUMN "discount_bp" DROP NOT NULL, ALTER COLUMN "deposit" DROP NOT NULL;

-- +goose Down
-- reverse: modify "deals" table
ALTER TABLE "deals" ALTER COLUMN "deposit" SET NOT NULL, ALTER COLUMN "discount_bp" SET NOT NULL, ALTER COLUMN "price" SET NOT NULL;
