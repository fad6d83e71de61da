-- +goose Up
-- create index "complaint_assignee_id" to table: "complaints"
CREATE INDEX "complaint_assignee_id" ON "complaints" ("assignee_id");
-- create index "complaint_filed_by_id" to table: "complaints"
CREATE INDEX "complaint_filed_by_id" ON "complaints" ("filed_by_id");

-- +goose Down
-- reverse: create index "complaint_filed_by_id" to table: "complaints"
DROP INDEX "complaint_filed_by_id";
-- reverse: create index "complaint_assignee_id" to table: "complaints"
DROP INDEX "complaint_assignee_id";
