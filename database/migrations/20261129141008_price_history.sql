-- +goose Up
-- create "price_changes" table
CREATE TABLE "price_changes" ("id" character varying NOT NULL, "project_id" character varying NOT NULL, "old_price" bigint NOT NULL, "new_price" bigint NOT NULL, "reason" character varying(500) NOT NULL, "changed_at" timestamptz NOT NULL, "changed_by_id" character varying NULL, "unit_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "price_changes_units_price_history" FOREIGN KEY ("unit_id") REFERENCES "units" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "price_changes_users_changed_by" FOREIGN KEY ("changed_by_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "pricechange_project_id_changed_at" to table: "price_changes"
CREATE INDEX "pricechange_project_id_changed_at" ON "price_changes" ("project_id", "changed_at");
-- create index "pricechange_unit_id_changed_at" to table: "price_changes"
CREATE INDEX "pricechange_unit_id_changed_at" ON "price_changes" ("unit_id", "changed_at");

-- +goose Down
-- reverse: create index "pricechange_unit_id_changed_at" to table: "price_changes"
DROP INDEX "pricechange_unit_id_changed_at";
-- reverse: create index "pricechange_project_id_changed_at" to table: "price_changes"
DROP INDEX "pricechange_project_id_changed_at";
-- reverse: create "price_changes" table
DROP TABLE "price_changes";
