package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"estatecrm/rule"
)

// OutboxFloor is the floor of one class of the outbox's topics (see
// outbox.Class): the position at or below which its events may have been
// pruned. Classes are kept for times of their own (live events a day, the
// listing change log a month), so the oldest event kept says nothing of a
// class: a reader resuming after a position below its class's floor is told
// to resync. Raised in the transaction that prunes; written and read by
// statements of package outbox, never through ent.
type OutboxFloor struct{ ent.Schema }

// Fields of the OutboxFloor.
func (OutboxFloor) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").Immutable().
			Comment("the class: live or listings"),
		field.Int64("seq").
			Comment("the last position pruned of the class"),
	}
}

// Annotations of the OutboxFloor: never part of the GraphQL schema.
func (OutboxFloor) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the OutboxFloor: the server's own bookkeeping.
func (OutboxFloor) Policy() ent.Policy {
	return rule.SystemOnly()
}
