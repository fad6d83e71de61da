-- +goose Up
-- drop index "customer_project_id_stage" from table: "customers"
DROP INDEX "customer_project_id_stage";
-- create index "customer_project_id_stage" to table: "customers"
CREATE INDEX "customer_project_id_stage" ON "customers" ("project_id", "stage") INCLUDE ("grade", "owner_id", "id", "last_contact_at", "budget_min", "budget_max");
-- drop index "visit_project_id_next_follow_up_at" from table: "visits"
DROP INDEX "visit_project_id_next_follow_up_at";
-- drop index "visit_project_id_occurred_at" from table: "visits"
DROP INDEX "visit_project_id_occurred_at";
-- create index "visit_project_id_next_follow_up_at" to table: "visits"
CREATE INDEX "visit_project_id_next_follow_up_at" ON "visits" ("project_id", "next_follow_up_at") INCLUDE ("agent_id", "customer_id", "occurred_at");
-- create index "visit_project_id_occurred_at" to table: "visits"
CREATE INDEX "visit_project_id_occurred_at" ON "visits" ("project_id", "occurred_at") INCLUDE ("kind", "agent_id", "customer_id");

-- +goose Down
-- reverse: create index "visit_project_id_occurred_at" to table: "visits"
DROP INDEX "visit_project_id_occurred_at";
-- reverse: create index "visit_project_id_next_follow_up_at" to table: "visits"
DROP INDEX "visit_project_id_next_follow_up_at";
-- reverse: drop index "visit_project_id_occurred_at" from table: "visits"
CREATE INDEX "visit_project_id_occurred_at" ON "visits" ("project_id", "occurred_at");
-- reverse: drop index "visit_project_id_next_follow_up_at" from table: "visits"
CREATE INDEX "visit_project_id_next_follow_up_at" ON "visits" ("project_id", "next_follow_up_at");
-- reverse: create index "customer_project_id_stage" to table: "customers"
DROP INDEX "customer_project_id_stage";
-- reverse: drop index "customer_project_id_stage" from table: "customers"
CREATE INDEX "customer_project_id_stage" ON "customers" ("project_id", "stage");
