-- +goose Up
-- create index "customer_phone_project_id" to table: "customers"
CREATE UNIQUE INDEX "customer_phone_project_id" ON "customers" ("phone", "project_id");
-- drop index "customer_phone": a phone is one customer per project, no longer per company; the new
-- index starts with the phone, so it serves lookups by phone alone too (written by hand: the
-- generator writes no drops)
DROP INDEX "customer_phone";
-- create "attribution_events" table
CREATE TABLE "attribution_events" ("id" character varying NOT NULL, "project_id" character varying NOT NULL, "kind" character varying NOT NULL, "at" timestamptz NOT NULL, "protected_until" timestamptz NULL, "request_key" character varying NULL, "from_id" character varying NULL, "to_id" character varying NULL, "actor_id" character varying NULL, "customer_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "attribution_events_customers_attribution_history" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "attribution_events_users_actor" FOREIGN KEY ("actor_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "attribution_events_users_from" FOREIGN KEY ("from_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "attribution_events_users_to" FOREIGN KEY ("to_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "attributionevent_customer_id_actor_id_request_key" to table: "attribution_events"
CREATE UNIQUE INDEX "attributionevent_customer_id_actor_id_request_key" ON "attribution_events" ("customer_id", "actor_id", "request_key");
-- create index "attributionevent_customer_id_at" to table: "attribution_events"
CREATE INDEX "attributionevent_customer_id_at" ON "attribution_events" ("customer_id", "at");

-- +goose Down
-- reverse: create index "attributionevent_customer_id_at" to table: "attribution_events"
DROP INDEX "attributionevent_customer_id_at";
-- reverse: create index "attributionevent_customer_id_actor_id_request_key" to table: "attribution_events"
DROP INDEX "attributionevent_customer_id_actor_id_request_key";
-- reverse: create "attribution_events" table
DROP TABLE "attribution_events";
-- reverse: drop index "customer_phone" (fails while a phone is a customer of two projects)
CREATE UNIQUE INDEX "customer_phone" ON "customers" ("phone");
-- reverse: create index "customer_phone_project_id" to table: "customers"
DROP INDEX "customer_phone_project_id";
