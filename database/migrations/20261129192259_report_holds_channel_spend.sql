-- +goose Up
-- create "channel_spends" table
CREATE TABLE "channel_spends" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "project_id" character varying NOT NULL, "channel" character varying NOT NULL, "from_day" bigint NOT NULL, "to_day" bigint NOT NULL, "amount" bigint NOT NULL, "entered_by_id" character varying NULL, PRIMARY KEY ("id"));
-- create index "channelspend_project_id_channel_from_day_to_day" to table: "channel_spends"
CREATE UNIQUE INDEX "channelspend_project_id_channel_from_day_to_day" ON "channel_spends" ("project_id", "channel", "from_day", "to_day");
-- create "unit_holds" table
CREATE TABLE "unit_holds" ("id" character varying NOT NULL, "unit_id" character varying NOT NULL, "customer_id" character varying NOT NULL, "agent_id" character varying NOT NULL, "project_id" character varying NOT NULL, "held_at" timestamptz NOT NULL, PRIMARY KEY ("id"));
-- create index "unithold_agent_id_held_at" to table: "unit_holds"
CREATE INDEX "unithold_agent_id_held_at" ON "unit_holds" ("agent_id", "held_at");
-- create index "unithold_project_id_held_at" to table: "unit_holds"
CREATE INDEX "unithold_project_id_held_at" ON "unit_holds" ("project_id", "held_at");

-- +goose Down
-- reverse: create index "unithold_project_id_held_at" to table: "unit_holds"
DROP INDEX "unithold_project_id_held_at";
-- reverse: create index "unithold_agent_id_held_at" to table: "unit_holds"
DROP INDEX "unithold_agent_id_held_at";
-- reverse: create "unit_holds" table
DROP TABLE "unit_holds";
-- reverse: create index "channelspend_project_id_channel_from_day_to_day" to table: "channel_spends"
DROP INDEX "channelspend_project_id_channel_from_day_to_day";
-- reverse: create "channel_spends" table
DROP TABLE "channel_spends";
