-- +goose Up
-- create index "customer_phone_last4_project_id_owner_id" to table: "customers"
CREATE INDEX "customer_phone_last4_project_id_owner_id" ON "customers" ("phone_last4", "project_id", "owner_id");
-- drop index "customer_phone_last4": a prefix of the new one (written by hand: the generator writes no drops)
DROP INDEX "customer_phone_last4";

-- +goose Down
CREATE INDEX "customer_phone_last4" ON "customers" ("phone_last4");
-- reverse: create index "customer_phone_last4_project_id_owner_id" to table: "customers"
DROP INDEX "customer_phone_last4_project_id_owner_id";
