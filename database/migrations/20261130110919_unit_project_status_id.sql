-- +goose Up
-- create index "unit_project_id_status_id" to table: "units"
CREATE INDEX "unit_project_id_status_id" ON "units" ("project_id", "status", "id");

-- +goose Down
-- reverse: create index "unit_project_id_status_id" to table: "units"
DROP INDEX "unit_project_id_status_id";
