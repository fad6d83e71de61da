package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/rule"
)

// OutboxEvent is one event of the outbox (package outbox): a unit's change
// of status, a complaint's new timeline event, a change of what a sales grid
// shows, a line of the listing change log (package listing), which webhook
// deliveries are filled from. It is written in the transaction of the change that causes it, so
// it exists exactly when the change committed, and numbered once that
// transaction has committed (outbox.Sequence), so that a reader resuming
// "after n" never skips an event that committed late with a lower id. It is
// written and read by statements of package outbox, never through ent; the
// schema is here so that migrations create the table.
type OutboxEvent struct{ ent.Schema }

// Fields of the OutboxEvent.
func (OutboxEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("id").Immutable().
			Comment("insertion order: within one unit, the order of its changes"),
		field.Int64("seq").Optional().Nillable().
			Comment("the public position, in commit-visibility order; NULL until sequenced"),
		field.String("topic").Immutable().
			Comment("who listens: a project's id (its units' events), complaints, or listings/ and a project's id (its listings' changes)"),
		field.String("kind").Immutable().
			Comment("unit, complaint or grid; a listing change's UPSERT or REMOVE"),
		field.Text("payload").Immutable().
			Comment("the event, JSON (package live's messages; a listing change's listingId and projectId)"),
		field.Time("at").Immutable().
			Comment("when the event was written (a listing change: the request's clock): pruning keeps a window of it"),
	}
}

// Indexes of the OutboxEvent: readers by position (all, or of one topic to
// resume a subscription), readers of the listing change log by position
// (its newest line, and its lines in order whatever the statistics say),
// and the sequencer's events not yet numbered. The listing index's
// condition is outbox.Listings' word for word, so that PostgreSQL proves
// a statement of that class may use it.
func (OutboxEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("seq").Unique(),
		index.Fields("topic", "seq"),
		index.Fields("seq").Annotations(entsql.IndexWhere("topic LIKE 'listings/%'")).StorageKey("outboxevent_listing_seq"),
		index.Fields("id").Annotations(entsql.IndexWhere("seq IS NULL")).StorageKey("outboxevent_unnumbered"),
	}
}

// Annotations of the OutboxEvent: never part of the GraphQL schema.
func (OutboxEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the OutboxEvent: the server's own bookkeeping.
func (OutboxEvent) Policy() ent.Policy {
	return rule.SystemOnly()
}
