-- +goose Up
-- create index "complaint_photos_storage_key_key" to table: "complaint_photos"
CREATE UNIQUE INDEX "complaint_photos_storage_key_key" ON "complaint_photos" ("storage_key");

-- +goose Down
-- reverse: create index "complaint_photos_storage_key_key" to table: "complaint_photos"
DROP INDEX "complaint_photos_storage_key_key";
