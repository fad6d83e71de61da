-- +goose Up
-- create index "unit_held_by_id" to table: "units"
CREATE INDEX "unit_held_by_id" ON "units" ("held_by_id");
-- create index "unit_held_for_id" to table: "units"
CREATE INDEX "unit_held_for_id" ON "units" ("held_for_id");

-- +goose Down
-- reverse: create index "unit_held_for_id" to table: "units"
DROP INDEX "unit_held_for_id";
-- reverse: create index "unit_held_by_id" to table: "units"
DROP INDEX "unit_held_by_id";
