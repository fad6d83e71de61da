package schema

import (
	"context"
	"slices"
	"strings"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	gen "estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// AttributionEvent is one line of a customer's attribution history (判客
// record): a change of owner and the rule that made it, or a registration
// of the customer's phone refused while another agent protected them. A
// manager settles a dispute over a customer (撞单) from it. Rows are written
// only through the rule package's named writers and never change.
type AttributionEvent struct{ ent.Schema }

// Mixin of the AttributionEvent.
func (AttributionEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("AE")}
}

// Fields of the AttributionEvent.
func (AttributionEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable().
			Comment("the customer's project, whose managers read the history").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Enum("kind").
			Values("REGISTERED", "CLAIMED", "REASSIGNED", "REGISTRATION_REFUSED").
			Immutable().
			Comment("the rule of a change of owner, or a refused registration of the phone"),
		field.String("from_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the owner before; of a refused registration, the protecting owner"),
		field.String("to_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the owner after; none for a refused registration"),
		field.String("actor_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("who did it (for a refusal, who tried); none for the system"),
		field.Time("at").Immutable().
			Comment("when, on the domain clock"),
		field.Time("protected_until").Optional().Nillable().Immutable().
			Comment("the protection the change gave, or the one that refused the registration"),
		field.String("request_key").MaxLen(64).Optional().Nillable().Immutable().
			Comment("of a refusal: a hash of the request's Idempotency-Key, so that a retry is recorded once").
			Annotations(entgql.Skip(entgql.SkipAll)),
	}
}

// Edges of the AttributionEvent.
func (AttributionEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("attribution_history").
			Field("customer_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.To("from", User.Type).Field("from_id").Unique().Immutable().
			Annotations(noWhere),
		edge.To("to", User.Type).Field("to_id").Unique().Immutable().
			Annotations(noWhere),
		edge.To("actor", User.Type).Field("actor_id").Unique().Immutable().
			Annotations(noWhere),
	}
}

// Indexes of the AttributionEvent.
func (AttributionEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("customer_id", "at"),
		// A project's claims of a period (agentBoard's pool figures).
		index.Fields("project_id", "at"),
		// A refused request retried with its Idempotency-Key is one refusal.
		index.Fields("customer_id", "actor_id", "request_key").Unique(),
	}
}

// Annotations of the AttributionEvent.
func (AttributionEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput, entgql.SkipOrderField)}
}

// Interceptors of the AttributionEvent.
func (AttributionEvent) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{historyInOrder()}
}

// historyInOrder returns a history oldest first, whichever path loads it
// (the Customer.attributionHistory edge is loaded without an order): by
// time, then by ID (monotonic ULIDs) for events of the same instant.
func historyInOrder() ent.Interceptor {
	return ent.InterceptFunc(func(next ent.Querier) ent.Querier {
		return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
			v, err := next.Query(ctx, q)
			if events, ok := v.([]*gen.AttributionEvent); ok && err == nil {
				slices.SortStableFunc(events, func(a, b *gen.AttributionEvent) int {
					if c := a.At.Compare(b.At); c != 0 {
						return c
					}
					return strings.Compare(string(a.ID), string(b.ID))
				})
			}
			return v, err
		})
	})
}

// Policy of the AttributionEvent: see package rule.
func (AttributionEvent) Policy() ent.Policy {
	return rule.Policy(rule.FilterAttributionEvents())
}
