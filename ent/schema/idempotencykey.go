package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// IdempotencyKey remembers a mutation sent with an Idempotency-Key header,
// so that a retry with the same key gets the first answer instead of a
// second run (SPEC.md §3.5).
type IdempotencyKey struct{ ent.Schema }

// Mixin of the IdempotencyKey.
func (IdempotencyKey) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("IK")}
}

// Fields of the IdempotencyKey.
func (IdempotencyKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("owner").NotEmpty().Immutable().
			Comment("the user or API key that sent it: keys are per caller"),
		field.String("key").NotEmpty().MaxLen(255).Immutable(),
		field.String("request_hash").NotEmpty().Immutable().
			Comment("SHA-256 of the operation: the same key with another request is refused"),
		field.Text("response").Optional().Nillable().
			Comment("the JSON answer, once the mutation committed; null while it runs"),
		field.String("token").Default("").
			Comment("random, names the run that holds the claim: only it may store the answer or release the key"),
		field.Time("lease_until").Optional().Nillable().
			Comment("the running request renews this while it lives; a claim without an answer whose lease lapsed belongs to a request that died, and a retry takes it over"),
		field.Time("created_at").Default(now).Immutable(),
	}
}

// Indexes of the IdempotencyKey.
func (IdempotencyKey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("owner", "key").Unique(),
		index.Fields("created_at"),
	}
}

// Annotations of the IdempotencyKey: never part of the GraphQL schema.
func (IdempotencyKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the IdempotencyKey: the server's own bookkeeping.
func (IdempotencyKey) Policy() ent.Policy {
	return rule.SystemOnly()
}
