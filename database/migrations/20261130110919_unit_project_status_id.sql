-- +goose NO TRANSACTION
-- +goose Up
-- create index "unit_project_id_status_id" to table: "units" CONCURRENTLY, so that the writes of units go on
-- while it builds (seconds at 200 k units); outside a transaction, which CONCURRENTLY requires. A run cut
-- short leaves an invalid index behind: dropped first, so that the next run builds it again.
DROP INDEX CONCURRENTLY IF EXISTS "unit_project_id_status_id";
CREATE INDEX CONCURRENTLY "unit_project_id_status_id" ON "units" ("project_id", "status", "id");

-- +goose Down
-- reverse: create index "unit_project_id_status_id" to table: "units"
DROP INDEX CONCURRENTLY IF EXISTS "unit_project_id_status_id";
