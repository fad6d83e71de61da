-- +goose Up
-- create "surveys" table
CREATE TABLE "surveys" ("id" character varying NOT NULL, "kind" character varying NOT NULL, "created_at" timestamptz NOT NULL, "csat" bigint NULL, "csat_comment" character varying(1000) NULL, "nps" bigint NULL, "nps_reason" character varying(1000) NULL, "answered_at" timestamptz NULL, "project_id" character varying NOT NULL, "customer_id" character varying NOT NULL, "unit_id" character varying NOT NULL, "complaint_id" character varying NULL, "deal_id" character varying NULL, "agent_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "surveys_complaints_complaint" FOREIGN KEY ("complaint_id") REFERENCES "complaints" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "surveys_customers_customer" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "surveys_deals_deal" FOREIGN KEY ("deal_id") REFERENCES "deals" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, CONSTRAINT "surveys_projects_project" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "surveys_units_unit" FOREIGN KEY ("unit_id") REFERENCES "units" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, CONSTRAINT "surveys_users_agent" FOREIGN KEY ("agent_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL);
-- create index "survey_complaint_id" to table: "surveys"
CREATE UNIQUE INDEX "survey_complaint_id" ON "surveys" ("complaint_id");
-- create index "survey_customer_id_created_at" to table: "surveys"
CREATE INDEX "survey_customer_id_created_at" ON "surveys" ("customer_id", "created_at");
-- create index "survey_deal_id" to table: "surveys"
CREATE UNIQUE INDEX "survey_deal_id" ON "surveys" ("deal_id");
-- create index "survey_project_id_answered_at" to table: "surveys"
CREATE INDEX "survey_project_id_answered_at" ON "surveys" ("project_id", "answered_at");

-- +goose Down
-- reverse: create index "survey_project_id_answered_at" to table: "surveys"
DROP INDEX "survey_project_id_answered_at";
-- reverse: create index "survey_deal_id" to table: "surveys"
DROP INDEX "survey_deal_id";
-- reverse: create index "survey_customer_id_created_at" to table: "surveys"
DROP INDEX "survey_customer_id_created_at";
-- reverse: create index "survey_complaint_id" to table: "surveys"
DROP INDEX "survey_complaint_id";
-- reverse: create "surveys" table
DROP TABLE "surveys";
