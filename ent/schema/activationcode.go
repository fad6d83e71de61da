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

// ActivationCode is the one-time code a homeowner gets at delivery to open
// their login. Only its hash is kept; it expires and is good once.
type ActivationCode struct{ ent.Schema }

// Mixin of the ActivationCode.
func (ActivationCode) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("AC")}
}

// Fields of the ActivationCode.
func (ActivationCode) Fields() []ent.Field {
	return []ent.Field{
		field.String("code_hash").NotEmpty().Immutable().Sensitive(),
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.Time("created_at").Default(now).Immutable(),
		field.Time("expires_at").Immutable(),
		field.Time("used_at").Optional().Nillable(),
	}
}

// Indexes of the ActivationCode.
func (ActivationCode) Indexes() []ent.Index {
	return []ent.Index{index.Fields("code_hash").Unique()}
}

// Annotations of the ActivationCode: never part of the GraphQL schema.
func (ActivationCode) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the ActivationCode: written and read by the server only.
func (ActivationCode) Policy() ent.Policy {
	return rule.SystemOnly()
}
