-- +goose Up
-- create "activation_codes" table
CREATE TABLE "activation_codes" ("id" character varying NOT NULL, "code_hash" character varying NOT NULL, "customer_id" character varying NOT NULL, "unit_id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "expires_at" timestamptz NOT NULL, "used_at" timestamptz NULL, PRIMARY KEY ("id"));
-- create index "activationcode_code_hash" to table: "activation_codes"
CREATE UNIQUE INDEX "activationcode_code_hash" ON "activation_codes" ("code_hash");

-- +goose Down
-- reverse: create index "activationcode_code_hash" to table: "activation_codes"
DROP INDEX "activationcode_code_hash";
-- reverse: create "activation_codes" table
DROP TABLE "activation_codes";
