-- +goose Up
-- modify "idempotency_keys" table
ALTER TABLE "idempotency_keys" ADD COLUMN "token" character varying NOT NULL DEFAULT '', ADD COLUMN "lease_until" timestamptz NULL;

-- +goose Down
-- reverse: modify "idempotency_keys" table
ALTER TABLE "idempotency_keys" DROP COLUMN "lease_until", DROP COLUMN "token";
