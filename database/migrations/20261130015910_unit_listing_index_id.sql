-- +goose Up
-- create index "unit_project_id_status_list_price_id" to table: "units"
CREATE INDEX "unit_project_id_status_list_price_id" ON "units" ("project_id", "status", "list_price", "id");
-- drop index "unit_project_id_status_list_price" (by hand: ent's diff leaves indexes it no longer declares; the new one serves all its reads)
DROP INDEX "unit_project_id_status_list_price";

-- +goose Down
-- reverse: drop index "unit_project_id_status_list_price"
CREATE INDEX "unit_project_id_status_list_price" ON "units" ("project_id", "status", "list_price");
-- reverse: create index "unit_project_id_status_list_price_id" to table: "units"
DROP INDEX "unit_project_id_status_list_price_id";
