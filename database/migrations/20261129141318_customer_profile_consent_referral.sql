-- +goose Up
-- modify "customers" table
ALTER TABLE "customers" ADD COLUMN "referred_by_id" character varying NULL, ADD CONSTRAINT "customers_customers_referrals" FOREIGN KEY ("referred_by_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- create index "customer_referred_by_id" to table: "customers"
CREATE INDEX "customer_referred_by_id" ON "customers" ("referred_by_id");
-- create "consent_events" table
CREATE TABLE "consent_events" ("id" character varying NOT NULL, "kind" character varying NOT NULL, "consent" boolean NOT NULL, "channels" jsonb NULL, "note" character varying(500) NULL, "created_at" timestamptz NOT NULL, "recorded_by_id" character varying NULL, "customer_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "consent_events_customers_consent_events" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "consent_events_users_recorded_by" FOREIGN KEY ("recorded_by_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "consentevent_customer_id_created_at" to table: "consent_events"
CREATE INDEX "consentevent_customer_id_created_at" ON "consent_events" ("customer_id", "created_at");

-- +goose Down
-- reverse: create index "consentevent_customer_id_created_at" to table: "consent_events"
DROP INDEX "consentevent_customer_id_created_at";
-- reverse: create "consent_events" table
DROP TABLE "consent_events";
-- reverse: create index "customer_referred_by_id" to table: "customers"
DROP INDEX "customer_referred_by_id";
-- reverse: modify "customers" table
ALTER TABLE "customers" DROP CONSTRAINT "customers_customers_referrals", DROP COLUMN "referred_by_id";
