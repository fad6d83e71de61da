-- +goose Up
-- create index "outboxevent_listing_seq" to table: "outbox_events"
CREATE INDEX "outboxevent_listing_seq" ON "outbox_events" ("seq") WHERE ((topic)::text ~~ 'listings/%'::text);

-- +goose Down
-- reverse: create index "outboxevent_listing_seq" to table: "outbox_events"
DROP INDEX "outboxevent_listing_seq";
