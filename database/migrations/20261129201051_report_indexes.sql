-- +goose Up
-- create index "attributionevent_project_id_at" to table: "attribution_events"
CREATE INDEX "attributionevent_project_id_at" ON "attribution_events" ("project_id", "at");
-- create index "customer_project_id_created_at" to table: "customers"
CREATE INDEX "customer_project_id_created_at" ON "customers" ("project_id", "created_at");
-- create index "visit_project_id_next_follow_up_at" to table: "visits"
CREATE INDEX "visit_project_id_next_follow_up_at" ON "visits" ("project_id", "next_follow_up_at");

-- +goose Down
-- reverse: create index "visit_project_id_next_follow_up_at" to table: "visits"
DROP INDEX "visit_project_id_next_follow_up_at";
-- reverse: create index "customer_project_id_created_at" to table: "customers"
DROP INDEX "customer_project_id_created_at";
-- reverse: create index "attributionevent_project_id_at" to table: "attribution_events"
DROP INDEX "attributionevent_project_id_at";
