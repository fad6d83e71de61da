package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// WebhookDelivery is one change of the listing log (an event of the
// outbox) to send to one endpoint, and its delivery log: written by the
// worker for each numbered change the endpoint may see, sent in sequence
// order, retried until it succeeds or its window (24 h) ends. The event is
// the outbox's; this row is its sending to one endpoint.
type WebhookDelivery struct{ ent.Schema }

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("WD"), TimeMixin{}}
}

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("endpoint_id").GoType(pulid.ID("")).Immutable(),
		field.Int64("seq").Immutable().Comment("the change's position in the outbox"),
		field.String("listing_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("kind").Values("UPSERT", "REMOVE").Immutable(),
		field.Time("at").Immutable().Comment("when the change was made"),
		field.Enum("status").Values("PENDING", "SUCCEEDED", "FAILED").Default("PENDING"),
		field.Int("attempts").Default(0),
		field.String("last_error").Optional().Nillable().MaxLen(500).
			Comment("what the last failed attempt got (a status, a network error), never a secret"),
		field.Time("next_attempt_at").Comment("when the worker may send it next (PENDING)"),
		field.Time("give_up_at").Comment("after a failure past this, the delivery is FAILED: its first attempt and webhook.Window"),
		field.Time("delivered_at").Optional().Nillable(),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the WebhookDelivery: one row per change and endpoint; the
// worker's head of each endpoint's queue; the due ones.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("endpoint_id", "seq").Unique(),
		index.Fields("endpoint_id", "status", "seq"),
		index.Fields("status", "next_attempt_at"),
	}
}

// Annotations of the WebhookDelivery: the GraphQL type is graph/webhooks.graphql's.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the WebhookDelivery: admins (and the worker, as the system) only.
func (WebhookDelivery) Policy() ent.Policy {
	return rule.Policy(rule.FilterWebhookDeliveries())
}
