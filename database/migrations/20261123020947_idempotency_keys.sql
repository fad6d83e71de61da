-- +goose Up
-- create "idempotency_keys" table
CREATE TABLE "idempotency_keys" ("id" character varying NOT NULL, "owner" character varying NOT NULL, "key" character varying NOT NULL, "request_hash" character varying NOT NULL, "response" text NULL, "created_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- create index "idempotencykey_created_at" to table: "idempotency_keys"
CREATE INDEX "idempotencykey_created_at" ON "idempotency_keys" ("created_at");
-- create index "idempotencykey_owner_key" to table: "idempotency_keys"
CREATE UNIQUE INDEX "idempotencykey_owner_key" ON "idempotency_keys" ("owner", "key");

-- +goose Down
-- reverse: create index "idempotencykey_owner_key" to table: "idempotency_keys"
DROP INDEX "idempotencykey_owner_key";
-- reverse: create index "idempotencykey_created_at" to table: "idempotency_keys"
DROP INDEX "idempotencykey_created_at";
-- reverse: create "idempotency_keys" table
DROP TABLE "idempotency_keys";
