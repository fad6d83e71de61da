-- +goose Up
-- create "api_keys" table
CREATE TABLE "api_keys" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "key_prefix" character varying NOT NULL, "secret_hash" character varying NOT NULL, "rate_limit_per_minute" bigint NOT NULL DEFAULT 600, "active" boolean NOT NULL DEFAULT true, "last_used_at" timestamptz NULL, PRIMARY KEY ("id"));
-- create index "apikey_key_prefix" to table: "api_keys"
CREATE UNIQUE INDEX "apikey_key_prefix" ON "api_keys" ("key_prefix");
-- create "audit_events" table
CREATE TABLE "audit_events" ("id" character varying NOT NULL, "action" character varying NOT NULL, "object_id" character varying NOT NULL, "detail" character varying NULL, "created_at" timestamptz NOT NULL, "actor_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "auditevent_actor_id_created_at" to table: "audit_events"
CREATE INDEX "auditevent_actor_id_created_at" ON "audit_events" ("actor_id", "created_at");
-- create index "auditevent_object_id_created_at" to table: "audit_events"
CREATE INDEX "auditevent_object_id_created_at" ON "audit_events" ("object_id", "created_at");
-- create "buildings" table
CREATE TABLE "buildings" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "floors" bigint NOT NULL, "units_per_floor" bigint NOT NULL DEFAULT 4, "project_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- create index "building_project_id_name" to table: "buildings"
CREATE UNIQUE INDEX "building_project_id_name" ON "buildings" ("project_id", "name");
-- create "complaints" table
CREATE TABLE "complaints" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "category" character varying NOT NULL, "severity" character varying NOT NULL DEFAULT 'NORMAL', "title" character varying NOT NULL, "description" character varying NOT NULL, "status" character varying NOT NULL DEFAULT 'SUBMITTED', "department" character varying NULL, "response_due_at" timestamptz NOT NULL, "resolution_due_at" timestamptz NOT NULL, "acknowledged_at" timestamptz NULL, "resolved_at" timestamptz NULL, "closed_at" timestamptz NULL, "resolution_note" text NULL, "rating" bigint NULL, "rating_comment" character varying NULL, "customer_id" character varying NOT NULL, "project_id" character varying NOT NULL, "unit_id" character varying NOT NULL, "filed_by_id" character varying NULL, "assignee_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "complaint_customer_id" to table: "complaints"
CREATE INDEX "complaint_customer_id" ON "complaints" ("customer_id");
-- create index "complaint_project_id_status" to table: "complaints"
CREATE INDEX "complaint_project_id_status" ON "complaints" ("project_id", "status");
-- create index "complaint_status_resolution_due_at" to table: "complaints"
CREATE INDEX "complaint_status_resolution_due_at" ON "complaints" ("status", "resolution_due_at");
-- create "complaint_events" table
CREATE TABLE "complaint_events" ("id" character varying NOT NULL, "kind" character varying NOT NULL, "from_status" character varying NULL, "to_status" character varying NULL, "note" text NULL, "internal" boolean NOT NULL DEFAULT false, "created_at" timestamptz NOT NULL, "complaint_id" character varying NOT NULL, "actor_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "complaintevent_complaint_id_created_at" to table: "complaint_events"
CREATE INDEX "complaintevent_complaint_id_created_at" ON "complaint_events" ("complaint_id", "created_at");
-- create "complaint_photos" table
CREATE TABLE "complaint_photos" ("id" character varying NOT NULL, "storage_key" character varying NOT NULL, "content_type" character varying NOT NULL, "size_bytes" bigint NOT NULL, "sha256" character varying NOT NULL, "width" bigint NULL, "height" bigint NULL, "created_at" timestamptz NOT NULL, "complaint_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- create "customers" table
CREATE TABLE "customers" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "phone" character varying NOT NULL, "phone_last4" character varying NOT NULL, "gender" character varying NOT NULL DEFAULT 'UNKNOWN', "age_band" character varying NULL, "occupation" character varying NULL, "family_structure" character varying NULL, "source" character varying NOT NULL, "purpose" character varying NULL, "budget_min" bigint NULL, "budget_max" bigint NULL, "wanted_bedrooms" jsonb NULL, "wanted_area_min" double precision NULL, "wanted_area_max" double precision NULL, "focus_factors" jsonb NULL, "stage" character varying NOT NULL DEFAULT 'LEAD', "grade" character varying NOT NULL DEFAULT 'C', "protected_until" timestamptz NULL, "last_contact_at" timestamptz NULL, "next_follow_up_at" timestamptz NULL, "next_follow_up_action" character varying NULL, "contact_consent" boolean NOT NULL DEFAULT false, "consent_at" timestamptz NULL, "consent_channels" jsonb NULL, "tags" jsonb NULL, "notes" text NULL, "project_id" character varying NOT NULL, "owner_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "customer_owner_id_next_follow_up_at" to table: "customers"
CREATE INDEX "customer_owner_id_next_follow_up_at" ON "customers" ("owner_id", "next_follow_up_at");
-- create index "customer_phone" to table: "customers"
CREATE UNIQUE INDEX "customer_phone" ON "customers" ("phone");
-- create index "customer_phone_last4" to table: "customers"
CREATE INDEX "customer_phone_last4" ON "customers" ("phone_last4");
-- create index "customer_project_id_protected_until" to table: "customers"
CREATE INDEX "customer_project_id_protected_until" ON "customers" ("project_id", "protected_until");
-- create index "customer_project_id_stage" to table: "customers"
CREATE INDEX "customer_project_id_stage" ON "customers" ("project_id", "stage");
-- create "deals" table
CREATE TABLE "deals" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "stage" character varying NOT NULL DEFAULT 'RESERVED', "price" bigint NOT NULL, "discount_bp" bigint NOT NULL DEFAULT 0, "payment_method" character varying NOT NULL, "deposit" bigint NOT NULL DEFAULT 0, "reserved_at" timestamptz NOT NULL, "contracted_at" timestamptz NULL, "cancelled_at" timestamptz NULL, "cancel_reason" character varying NULL, "customer_id" character varying NOT NULL, "project_id" character varying NOT NULL, "unit_id" character varying NOT NULL, "agent_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- create index "deal_customer_id" to table: "deals"
CREATE INDEX "deal_customer_id" ON "deals" ("customer_id");
-- create index "deal_project_id_stage_reserved_at" to table: "deals"
CREATE INDEX "deal_project_id_stage_reserved_at" ON "deals" ("project_id", "stage", "reserved_at");
-- create index "deal_unit_id_stage" to table: "deals"
CREATE INDEX "deal_unit_id_stage" ON "deals" ("unit_id", "stage");
-- create "projects" table
CREATE TABLE "projects" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "city" character varying NOT NULL, "district" character varying NOT NULL DEFAULT '', "address" character varying NOT NULL DEFAULT '', "latitude" double precision NULL, "longitude" double precision NULL, "status" character varying NOT NULL DEFAULT 'PLANNING', "presale_permit" character varying NULL, "launch_date" timestamptz NULL, "delivery_date" timestamptz NULL, "amenities" jsonb NULL, "published" boolean NOT NULL DEFAULT false, "protection_days" bigint NOT NULL DEFAULT 30, "hold_minutes" bigint NOT NULL DEFAULT 30, "agent_discount_cap_bp" bigint NOT NULL DEFAULT 300, PRIMARY KEY ("id"));
-- create index "project_published_city" to table: "projects"
CREATE INDEX "project_published_city" ON "projects" ("published", "city");
-- create "units" table
CREATE TABLE "units" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "floor" bigint NOT NULL, "number" character varying NOT NULL, "bedrooms" bigint NOT NULL, "living_rooms" bigint NOT NULL, "bathrooms" bigint NOT NULL, "gross_area" double precision NOT NULL, "net_area" double precision NOT NULL, "orientation" character varying NOT NULL, "decoration" character varying NOT NULL DEFAULT 'BARE', "list_price" bigint NOT NULL, "status" character varying NOT NULL DEFAULT 'AVAILABLE', "published" boolean NOT NULL DEFAULT false, "hold_expires_at" timestamptz NULL, "building_id" character varying NOT NULL, "project_id" character varying NOT NULL, "held_by_id" character varying NULL, "held_for_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "unit_building_id_number" to table: "units"
CREATE UNIQUE INDEX "unit_building_id_number" ON "units" ("building_id", "number");
-- create index "unit_project_id_building_id_floor" to table: "units"
CREATE INDEX "unit_project_id_building_id_floor" ON "units" ("project_id", "building_id", "floor");
-- create index "unit_project_id_status_list_price" to table: "units"
CREATE INDEX "unit_project_id_status_list_price" ON "units" ("project_id", "status", "list_price");
-- create "users" table
CREATE TABLE "users" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "login" character varying NOT NULL, "password_hash" character varying NULL, "role" character varying NOT NULL, "active" boolean NOT NULL DEFAULT true, "customer_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "user_login" to table: "users"
CREATE UNIQUE INDEX "user_login" ON "users" ("login");
-- create index "users_customer_id_key" to table: "users"
CREATE UNIQUE INDEX "users_customer_id_key" ON "users" ("customer_id");
-- create "visits" table
CREATE TABLE "visits" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "kind" character varying NOT NULL, "occurred_at" timestamptz NOT NULL, "duration_minutes" bigint NULL, "touchpoints" jsonb NULL, "notes" text NULL, "grade_after" character varying NULL, "next_follow_up_at" timestamptz NULL, "next_follow_up_action" character varying NULL, "customer_id" character varying NOT NULL, "project_id" character varying NOT NULL, "agent_id" character varying NOT NULL, PRIMARY KEY ("id"));
-- create index "visit_agent_id_occurred_at" to table: "visits"
CREATE INDEX "visit_agent_id_occurred_at" ON "visits" ("agent_id", "occurred_at");
-- create index "visit_customer_id_occurred_at" to table: "visits"
CREATE INDEX "visit_customer_id_occurred_at" ON "visits" ("customer_id", "occurred_at");
-- create index "visit_project_id_occurred_at" to table: "visits"
CREATE INDEX "visit_project_id_occurred_at" ON "visits" ("project_id", "occurred_at");
-- create "user_projects" table
CREATE TABLE "user_projects" ("user_id" character varying NOT NULL, "project_id" character varying NOT NULL, PRIMARY KEY ("user_id", "project_id"));
-- create "visit_units_shown" table
CREATE TABLE "visit_units_shown" ("visit_id" character varying NOT NULL, "unit_id" character varying NOT NULL, PRIMARY KEY ("visit_id", "unit_id"));
-- modify "audit_events" table
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_users_audit_events" FOREIGN KEY ("actor_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "buildings" table
ALTER TABLE "buildings" ADD CONSTRAINT "buildings_projects_buildings" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
-- modify "complaints" table
ALTER TABLE "complaints" ADD CONSTRAINT "complaints_customers_complaints" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "complaints_projects_complaints" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "complaints_units_complaints" FOREIGN KEY ("unit_id") REFERENCES "units" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "complaints_users_assigned_complaints" FOREIGN KEY ("assignee_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, ADD CONSTRAINT "complaints_users_filed_complaints" FOREIGN KEY ("filed_by_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "complaint_events" table
ALTER TABLE "complaint_events" ADD CONSTRAINT "complaint_events_complaints_events" FOREIGN KEY ("complaint_id") REFERENCES "complaints" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "complaint_events_users_complaint_events" FOREIGN KEY ("actor_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "complaint_photos" table
ALTER TABLE "complaint_photos" ADD CONSTRAINT "complaint_photos_complaints_photos" FOREIGN KEY ("complaint_id") REFERENCES "complaints" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
-- modify "customers" table
ALTER TABLE "customers" ADD CONSTRAINT "customers_projects_customers" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "customers_users_customers" FOREIGN KEY ("owner_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "deals" table
ALTER TABLE "deals" ADD CONSTRAINT "deals_customers_deals" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "deals_projects_deals" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "deals_units_deals" FOREIGN KEY ("unit_id") REFERENCES "units" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "deals_users_deals" FOREIGN KEY ("agent_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
-- modify "units" table
ALTER TABLE "units" ADD CONSTRAINT "units_buildings_units" FOREIGN KEY ("building_id") REFERENCES "buildings" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "units_customers_held_for" FOREIGN KEY ("held_for_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE SET NULL, ADD CONSTRAINT "units_projects_units" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "units_users_held_by" FOREIGN KEY ("held_by_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "users" table
ALTER TABLE "users" ADD CONSTRAINT "users_customers_login" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- modify "visits" table
ALTER TABLE "visits" ADD CONSTRAINT "visits_customers_visits" FOREIGN KEY ("customer_id") REFERENCES "customers" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "visits_projects_visits" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION, ADD CONSTRAINT "visits_users_visits" FOREIGN KEY ("agent_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE NO ACTION;
-- modify "user_projects" table
ALTER TABLE "user_projects" ADD CONSTRAINT "user_projects_project_id" FOREIGN KEY ("project_id") REFERENCES "projects" ("id") ON UPDATE NO ACTION ON DELETE CASCADE, ADD CONSTRAINT "user_projects_user_id" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON UPDATE NO ACTION ON DELETE CASCADE;
-- modify "visit_units_shown" table
ALTER TABLE "visit_units_shown" ADD CONSTRAINT "visit_units_shown_unit_id" FOREIGN KEY ("unit_id") REFERENCES "units" ("id") ON UPDATE NO ACTION ON DELETE CASCADE, ADD CONSTRAINT "visit_units_shown_visit_id" FOREIGN KEY ("visit_id") REFERENCES "visits" ("id") ON UPDATE NO ACTION ON DELETE CASCADE;

-- +goose Down
-- reverse: modify "visit_units_shown" table
ALTER TABLE "visit_units_shown" DROP CONSTRAINT "visit_units_shown_visit_id", DROP CONSTRAINT "visit_units_shown_unit_id";
-- reverse: modify "user_projects" table
ALTER TABLE "user_projects" DROP CONSTRAINT "user_projects_user_id", DROP CONSTRAINT "user_projects_project_id";
-- reverse: modify "visits" table
ALTER TABLE "visits" DROP CONSTRAINT "visits_users_visits", DROP CONSTRAINT "visits_projects_visits", DROP CONSTRAINT "visits_customers_visits";
-- reverse: modify "users" table
ALTER TABLE "users" DROP CONSTRAINT "users_customers_login";
-- reverse: modify "units" table
ALTER TABLE "units" DROP CONSTRAINT "units_users_held_by", DROP CONSTRAINT "units_projects_units", DROP CONSTRAINT "units_customers_held_for", DROP CONSTRAINT "units_buildings_units";
-- reverse: modify "deals" table
ALTER TABLE "deals" DROP CONSTRAINT "deals_users_deals", DROP CONSTRAINT "deals_units_deals", DROP CONSTRAINT "deals_projects_deals", DROP CONSTRAINT "deals_customers_deals";
-- reverse: modify "customers" table
ALTER TABLE "customers" DROP CONSTRAINT "customers_users_customers", DROP CONSTRAINT "customers_projects_customers";
-- reverse: modify "complaint_photos" table
ALTER TABLE "complaint_photos" DROP CONSTRAINT "complaint_photos_complaints_photos";
-- reverse: modify "complaint_events" table
ALTER TABLE "complaint_events" DROP CONSTRAINT "complaint_events_users_complaint_events", DROP CONSTRAINT "complaint_events_complaints_events";
-- reverse: modify "complaints" table
ALTER TABLE "complaints" DROP CONSTRAINT "complaints_users_filed_complaints", DROP CONSTRAINT "complaints_users_assigned_complaints", DROP CONSTRAINT "complaints_units_complaints", DROP CONSTRAINT "complaints_projects_complaints", DROP CONSTRAINT "complaints_customers_complaints";
-- reverse: modify "buildings" table
ALTER TABLE "buildings" DROP CONSTRAINT "buildings_projects_buildings";
-- reverse: modify "audit_events" table
ALTER TABLE "audit_events" DROP CONSTRAINT "audit_events_users_audit_events";
-- reverse: create "visit_units_shown" table
DROP TABLE "visit_units_shown";
-- reverse: create "user_projects" table
DROP TABLE "user_projects";
-- reverse: create index "visit_project_id_occurred_at" to table: "visits"
DROP INDEX "visit_project_id_occurred_at";
-- reverse: create index "visit_customer_id_occurred_at" to table: "visits"
DROP INDEX "visit_customer_id_occurred_at";
-- reverse: create index "visit_agent_id_occurred_at" to table: "visits"
DROP INDEX "visit_agent_id_occurred_at";
-- reverse: create "visits" table
DROP TABLE "visits";
-- reverse: create index "users_customer_id_key" to table: "users"
DROP INDEX "users_customer_id_key";
-- reverse: create index "user_login" to table: "users"
DROP INDEX "user_login";
-- reverse: create "users" table
DROP TABLE "users";
-- reverse: create index "unit_project_id_status_list_price" to table: "units"
DROP INDEX "unit_project_id_status_list_price";
-- reverse: create index "unit_project_id_building_id_floor" to table: "units"
DROP INDEX "unit_project_id_building_id_floor";
-- reverse: create index "unit_building_id_number" to table: "units"
DROP INDEX "unit_building_id_number";
-- reverse: create "units" table
DROP TABLE "units";
-- reverse: create index "project_published_city" to table: "projects"
DROP INDEX "project_published_city";
-- reverse: create "projects" table
DROP TABLE "projects";
-- reverse: create index "deal_unit_id_stage" to table: "deals"
DROP INDEX "deal_unit_id_stage";
-- reverse: create index "deal_project_id_stage_reserved_at" to table: "deals"
DROP INDEX "deal_project_id_stage_reserved_at";
-- reverse: create index "deal_customer_id" to table: "deals"
DROP INDEX "deal_customer_id";
-- reverse: create "deals" table
DROP TABLE "deals";
-- reverse: create index "customer_project_id_stage" to table: "customers"
DROP INDEX "customer_project_id_stage";
-- reverse: create index "customer_project_id_protected_until" to table: "customers"
DROP INDEX "customer_project_id_protected_until";
-- reverse: create index "customer_phone_last4" to table: "customers"
DROP INDEX "customer_phone_last4";
-- reverse: create index "customer_phone" to table: "customers"
DROP INDEX "customer_phone";
-- reverse: create index "customer_owner_id_next_follow_up_at" to table: "customers"
DROP INDEX "customer_owner_id_next_follow_up_at";
-- reverse: create "customers" table
DROP TABLE "customers";
-- reverse: create "complaint_photos" table
DROP TABLE "complaint_photos";
-- reverse: create index "complaintevent_complaint_id_created_at" to table: "complaint_events"
DROP INDEX "complaintevent_complaint_id_created_at";
-- reverse: create "complaint_events" table
DROP TABLE "complaint_events";
-- reverse: create index "complaint_status_resolution_due_at" to table: "complaints"
DROP INDEX "complaint_status_resolution_due_at";
-- reverse: create index "complaint_project_id_status" to table: "complaints"
DROP INDEX "complaint_project_id_status";
-- reverse: create index "complaint_customer_id" to table: "complaints"
DROP INDEX "complaint_customer_id";
-- reverse: create "complaints" table
DROP TABLE "complaints";
-- reverse: create index "building_project_id_name" to table: "buildings"
DROP INDEX "building_project_id_name";
-- reverse: create "buildings" table
DROP TABLE "buildings";
-- reverse: create index "auditevent_object_id_created_at" to table: "audit_events"
DROP INDEX "auditevent_object_id_created_at";
-- reverse: create index "auditevent_actor_id_created_at" to table: "audit_events"
DROP INDEX "auditevent_actor_id_created_at";
-- reverse: create "audit_events" table
DROP TABLE "audit_events";
-- reverse: create index "apikey_key_prefix" to table: "api_keys"
DROP INDEX "apikey_key_prefix";
-- reverse: create "api_keys" table
DROP TABLE "api_keys";
