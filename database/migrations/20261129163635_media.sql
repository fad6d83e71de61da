-- +goose Up
-- create "media" table
CREATE TABLE "media" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "layout" character varying NULL, "kind" character varying NOT NULL, "caption" character varying(200) NOT NULL DEFAULT '', "position" bigint NOT NULL DEFAULT 0, "storage_key" character varying NOT NULL, "content_type" character varying NOT NULL, "size_bytes" bigint NOT NULL, "sha256" character varying NOT NULL, "width" bigint NOT NULL, "height" bigint NOT NULL, "project_id" character varying NOT NULL, "building_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "media_buildings_building" FOREIGN KEY ("building_id") REFERENCES "buildings" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "media_projects_project" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "media_building_id_position" to table: "media"
CREATE INDEX "media_building_id_position" ON "media" ("building_id", "position");
-- create index "media_project_id_layout_position" to table: "media"
CREATE INDEX "media_project_id_layout_position" ON "media" ("project_id", "layout", "position");
-- create index "media_storage_key_key" to table: "media"
CREATE UNIQUE INDEX "media_storage_key_key" ON "media" ("storage_key");

-- +goose Down
-- reverse: create index "media_storage_key_key" to table: "media"
DROP INDEX "media_storage_key_key";
-- reverse: create index "media_project_id_layout_position" to table: "media"
DROP INDEX "media_project_id_layout_position";
-- reverse: create index "media_building_id_position" to table: "media"
DROP INDEX "media_building_id_position";
-- reverse: create "media" table
DROP TABLE "media";
