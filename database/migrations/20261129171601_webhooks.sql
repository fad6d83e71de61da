-- +goose Up
-- create "webhook_endpoints" table
CREATE TABLE "webhook_endpoints" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "url" character varying NOT NULL, "description" character varying NOT NULL DEFAULT '', "enabled" boolean NOT NULL DEFAULT true, "secret" character varying NOT NULL, "previous_secret" character varying NULL, "previous_secret_until" timestamptz NULL, "cursor" bigint NOT NULL DEFAULT 0, "lease_owner" character varying NULL, "lease_until" timestamptz NULL, "api_key_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "webhook_endpoints_api_keys_api_key" FOREIGN KEY ("api_key_id") REFERENCES "api_keys" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create "webhook_deliveries" table
CREATE TABLE "webhook_deliveries" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "seq" bigint NOT NULL, "listing_id" character varying NOT NULL, "kind" character varying NOT NULL, "at" timestamptz NOT NULL, "status" character varying NOT NULL DEFAULT 'PENDING', "attempts" bigint NOT NULL DEFAULT 0, "last_error" character varying NULL, "next_attempt_at" timestamptz NOT NULL, "give_up_at" timestamptz NOT NULL, "delivered_at" timestamptz NULL, "endpoint_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "webhook_deliveries_webhook_endpoints_deliveries" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints" ("id") ON UPDATE NO ACTION ON DELETE CASCADE);
-- create index "webhookdelivery_endpoint_id_seq" to table: "webhook_deliveries"
CREATE UNIQUE INDEX "webhookdelivery_endpoint_id_seq" ON "webhook_deliveries" ("endpoint_id", "seq");
-- create index "webhookdelivery_endpoint_id_status_seq" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_endpoint_id_status_seq" ON "webhook_deliveries" ("endpoint_id", "status", "seq");
-- create index "webhookdelivery_status_next_attempt_at" to table: "webhook_deliveries"
CREATE INDEX "webhookdelivery_status_next_attempt_at" ON "webhook_deliveries" ("status", "next_attempt_at");

-- +goose Down
-- reverse: create index "webhookdelivery_status_next_attempt_at" to table: "webhook_deliveries"
DROP INDEX "webhookdelivery_status_next_attempt_at";
-- reverse: create index "webhookdelivery_endpoint_id_status_seq" to table: "webhook_deliveries"
DROP INDEX "webhookdelivery_endpoint_id_status_seq";
-- reverse: create index "webhookdelivery_endpoint_id_seq" to table: "webhook_deliveries"
DROP INDEX "webhookdelivery_endpoint_id_seq";
-- reverse: create "webhook_deliveries" table
DROP TABLE "webhook_deliveries";
-- reverse: create "webhook_endpoints" table
DROP TABLE "webhook_endpoints";
