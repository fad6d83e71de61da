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

// RefreshToken is one opaque, single-use refresh token, stored hashed. Each
// rotation makes a new token in the same family; presenting a used token
// again revokes the whole family (it has been stolen or replayed).
type RefreshToken struct{ ent.Schema }

// Mixin of the RefreshToken.
func (RefreshToken) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("RT")}
}

// Fields of the RefreshToken.
func (RefreshToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("user_id").GoType(pulid.ID("")).Immutable(),
		field.String("family").NotEmpty().Immutable(),
		field.String("token_hash").NotEmpty().Immutable().Sensitive(),
		field.Time("created_at").Default(now).Immutable(),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Edges of the RefreshToken.
func (RefreshToken) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("refresh_tokens").
			Field("user_id").Unique().Required().Immutable().
			Annotations(noWhere),
	}
}

// Indexes of the RefreshToken.
func (RefreshToken) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("token_hash").Unique(),
		index.Fields("family"),
		index.Fields("user_id"),
	}
}

// Annotations of the RefreshToken: never part of the GraphQL schema.
func (RefreshToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the RefreshToken: see package rule.
func (RefreshToken) Policy() ent.Policy {
	return rule.SystemOnly()
}
