-- +goose Up
-- modify "audit_events" table
ALTER TABLE "audit_events" ADD COLUMN "project_id" character varying NULL, ADD CONSTRAINT "audit_events_projects_audit_events" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- create index "auditevent_project_id_created_at" to table: "audit_events"
CREATE INDEX "auditevent_project_id_created_at" ON "audit_events" ("project_id", "created_at");
-- modify "users" table
ALTER TABLE "users" ADD COLUMN "failed_logins" bigint NOT NULL DEFAULT 0, ADD COLUMN "locked_until" timestamptz NULL;
-- create "refresh_tokens" table
CREATE TABLE "refresh_tokens" ("id" character varying NOT NULL, "family" character varying NOT NULL, "token_hash" character varying NOT NULL, "created_at" timestamptz NOT NULL, "expires_at" timestamptz NOT NULL, "used_at" timestamptz NULL, "revoked_at" timestamptz NULL, "user_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "refresh_tokens_users_refresh_tokens" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION);
-- create index "refreshtoken_family" to table: "refresh_tokens"
CREATE INDEX "refreshtoken_family" ON "refresh_tokens" ("family");
-- create index "refreshtoken_token_hash" to table: "refresh_tokens"
CREATE UNIQUE INDEX "refreshtoken_token_hash" ON "refresh_tokens" ("token_hash");
-- create index "refreshtoken_user_id" to table: "refresh_tokens"
CREATE INDEX "refreshtoken_user_id" ON "refresh_tokens" ("user_id");

-- +goose Down
-- reverse: create index "refreshtoken_user_id" to table: "refresh_tokens"
DROP INDEX "refreshtoken_user_id";
-- reverse: create index "refreshtoken_token_hash" to table: "refresh_tokens"
DROP INDEX "refreshtoken_token_hash";
-- reverse: create index "refreshtoken_family" to table: "refresh_tokens"
DROP INDEX "refreshtoken_family";
-- reverse: create "refresh_tokens" table
DROP TABLE "refresh_tokens";
-- reverse: modify "users" table
ALTER TABLE "users" DROP COLUMN "locked_until", DROP COLUMN "failed_logins";
-- reverse: create index "auditevent_project_id_created_at" to table: "audit_events"
DROP INDEX "auditevent_project_id_created_at";
-- reverse: modify "audit_events" table
ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_projects_audit_events", DROP COLUMN "project_id";
