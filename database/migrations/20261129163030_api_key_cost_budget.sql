-- +goose Up
-- modify "api_keys" table
ALTER TABLE "api_keys" ADD COLUMN "cost_budget" bigint NOT NULL DEFAULT 1000, ADD COLUMN "cost_restore_rate" bigint NOT NULL DEFAULT 50;
-- create "cost_buckets" table: UNLOGGED, as a bucket is worth nothing after a crash (it refills in seconds) and a write without WAL is not waited for on disk
CREATE UNLOGGED TABLE "cost_buckets" ("id" character varying NOT NULL, "tokens" double precision NOT NULL, "updated_at" timestamptz NOT NULL, "granted" boolean NOT NULL DEFAULT false, PRIMARY KEY ("id"));

-- +goose Down
-- reverse: create "cost_buckets" table
DROP TABLE "cost_buckets";
-- reverse: modify "api_keys" table
ALTER TABLE "api_keys" DROP COLUMN "cost_restore_rate", DROP COLUMN "cost_budget";
