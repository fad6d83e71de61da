-- +goose Up
-- modify "users" table
ALTER TABLE "users" ADD COLUMN "access_version" bigint NOT NULL DEFAULT 0;

-- +goose Down
-- reverse: modify "users" table
ALTER TABLE "users" DROP COLUMN "access_version";
