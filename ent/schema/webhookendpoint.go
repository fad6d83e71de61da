package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// WebhookEndpoint is a portal's URL that receives the listing change log as
// signed webhooks (issue 12, package webhook). An admin registers it; the
// secret is shown once and kept to sign every delivery.
type WebhookEndpoint struct{ ent.Schema }

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("WE"), TimeMixin{}}
}

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").NotEmpty().MaxLen(2000).
			Comment("where deliveries are POSTed: a host of the allowlist (WEBHOOK_ALLOWED_HOSTS)"),
		field.String("description").Default("").Validate(maxRunes(500)),
		field.Bool("enabled").Default(true).
			Comment("false pauses deliveries; the changes wait (within the log's retention)"),
		field.String("secret").Sensitive().NotEmpty().
			Comment("whsec_… (Standard Webhooks): the HMAC key, shown once"),
		field.String("previous_secret").Sensitive().Optional().Nillable().
			Comment("the secret before the last rotation: deliveries are signed with both until previous_secret_until"),
		field.Time("previous_secret_until").Optional().Nillable(),
		field.String("api_key_id").GoType(pulid.ID("")).Optional().Nillable().
			Comment("the portal's key: the endpoint receives only the changes of the key's projects"),
		field.Int64("cursor").Default(0).
			Comment("the outbox position of the last listing change given a delivery row (the fill position)"),
		field.String("lease_owner").Optional().Nillable().
			Comment("the worker delivering to this endpoint until lease_until: one at a time, in order"),
		field.Time("lease_until").Optional().Nillable(),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("api_key", APIKey.Type).Field("api_key_id").Unique().
			Annotations(entsql.OnDelete(entsql.Cascade)), // never left unlimited
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entsql.OnDelete(entsql.Cascade)),
	}
}

// Annotations of the WebhookEndpoint: the GraphQL type is graph/webhooks.graphql's.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the WebhookEndpoint: admins (and the delivery worker, as the
// system) only.
func (WebhookEndpoint) Policy() ent.Policy {
	return rule.Policy(rule.FilterWebhookEndpoints())
}
