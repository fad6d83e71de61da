-- +goose Up
-- modify "customers" table
ALTER TABLE "customers" ADD COLUMN "attribution_rule" character varying NULL;

-- +goose Down
-- reverse: modify "customers" table
ALTER TABLE "customers" DROP COLUMN "attribution_rule";
