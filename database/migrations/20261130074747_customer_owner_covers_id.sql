-- +goose Up
-- drop index "customer_owner_id_next_follow_up_at" from table: "customers"
DROP INDEX "customer_owner_id_next_follow_up_at";
-- create index "customer_owner_id_next_follow_up_at" to table: "customers"
CREATE INDEX "customer_owner_id_next_follow_up_at" ON "customers" ("owner_id", "next_follow_up_at") INCLUDE ("id");

-- +goose Down
-- reverse: create index "customer_owner_id_next_follow_up_at" to table: "customers"
DROP INDEX "customer_owner_id_next_follow_up_at";
-- reverse: drop index "customer_owner_id_next_follow_up_at" from table: "customers"
CREATE INDEX "customer_owner_id_next_follow_up_at" ON "customers" ("owner_id", "next_follow_up_at");
