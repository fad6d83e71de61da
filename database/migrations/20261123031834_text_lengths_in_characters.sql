-- +goose Up
-- modify "api_keys" table
ALTER TABLE "api_keys" ALTER COLUMN "name" TYPE character varying(100);
-- modify "audit_events" table
ALTER TABLE "audit_events" ALTER COLUMN "detail" TYPE character varying(1000);
-- modify "buildings" table
ALTER TABLE "buildings" ALTER COLUMN "name" TYPE character varying(50);
-- modify "complaints" table
ALTER TABLE "complaints" ALTER COLUMN "title" TYPE character varying(100), ALTER COLUMN "description" TYPE text, ALTER COLUMN "rating_comment" TYPE character varying(1000);
-- modify "customers" table
ALTER TABLE "customers" ALTER COLUMN "name" TYPE character varying(50), ALTER COLUMN "occupation" TYPE character varying(50), ALTER COLUMN "next_follow_up_action" TYPE character varying(200);
-- modify "deals" table
ALTER TABLE "deals" ALTER COLUMN "cancel_reason" TYPE character varying(500);
-- modify "projects" table
ALTER TABLE "projects" ALTER COLUMN "name" TYPE character varying(100), ALTER COLUMN "city" TYPE character varying(50), ALTER COLUMN "district" TYPE character varying(50), ALTER COLUMN "address" TYPE character varying(200), ALTER COLUMN "presale_permit" TYPE character varying(100);
-- modify "units" table
ALTER TABLE "units" ALTER COLUMN "number" TYPE character varying(20);
-- modify "users" table
ALTER TABLE "users" ALTER COLUMN "name" TYPE character varying(50);
-- modify "visits" table
ALTER TABLE "visits" ALTER COLUMN "next_follow_up_action" TYPE character varying(200);

-- +goose Down
-- reverse: modify "visits" table
ALTER TABLE "visits" ALTER COLUMN "next_follow_up_action" TYPE character varying;
-- reverse: modify "users" table
ALTER TABLE "users" ALTER COLUMN "name" TYPE character varying;
-- reverse: modify "units" table
ALTER TABLE "units" ALTER COLUMN "number" TYPE character varying;
-- reverse: modify "projects" table
ALTER TABLE "projects" ALTER COLUMN "presale_permit" TYPE character varying, ALTER COLUMN "address" TYPE character varying, ALTER COLUMN "district" TYPE character varying, ALTER COLUMN "city" TYPE character varying, ALTER COLUMN "name" TYPE character varying;
-- reverse: modify "deals" table
ALTER TABLE "deals" ALTER COLUMN "cancel_reason" TYPE character varying;
-- reverse: modify "customers" table
ALTER TABLE "customers" ALTER COLUMN "next_follow_up_action" TYPE character varying, ALTER COLUMN "occupation" TYPE character varying, ALTER COLUMN "name" TYPE character varying;
-- reverse: modify "complaints" table
ALTER TABLE "complaints" ALTER COLUMN "rating_comment" TYPE character varying, ALTER COLUMN "description" TYPE character varying, ALTER COLUMN "title" TYPE character varying;
-- reverse: modify "buildings" table
ALTER TABLE "buildings" ALTER COLUMN "name" TYPE character varying;
-- reverse: modify "audit_events" table
ALTER TABLE "audit_events" ALTER COLUMN "detail" TYPE character varying;
-- reverse: modify "api_keys" table
ALTER TABLE "api_keys" ALTER COLUMN "name" TYPE character varying;
