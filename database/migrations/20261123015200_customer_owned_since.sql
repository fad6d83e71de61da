-- +goose Up
-- modify "customers" table
ALTER TABLE "customers" ADD COLUMN "owned_since" timestamptz NULL;

-- +goose Down
-- reverse: modify "customers" table
ALTER TABLE "customers" DROP COLUMN "owned_since";
