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

// APIKey lets a listing portal read published projects and units.
type APIKey struct{ ent.Schema }

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("AK"), TimeMixin{}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Validate(displayName(100)).SchemaType(varchar(100)).
			Annotations(entgql.OrderField("NAME")),
		field.String("key_prefix").NotEmpty().MaxLen(16).Immutable().
			Comment("the public part of the key, used to find it"),
		field.String("secret_hash").Sensitive().NotEmpty().
			Annotations(entgql.Skip()),
		field.Int("rate_limit_per_minute").Range(1, 100000).Default(600),
		field.Int("cost_budget").Range(1, 1_000_000).Default(1000).
			Comment("the most query-cost points the key holds, shared by every server process"),
		field.Int("cost_restore_rate").Range(1, 100_000).Default(50).
			Comment("query-cost points restored to the key each second, up to cost_budget"),
		field.Bool("active").Default(true),
		field.Time("last_used_at").Optional().Nillable(),
		field.JSON("project_ids", []pulid.ID{}).Optional().
			Comment("the projects the key is limited to (listings, the change log, every read); empty: every published project").
			Annotations(entgql.Type("[ID!]")),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("key_prefix").Unique()}
}

// Annotations of the APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField("apiKeys"), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Policy of the APIKey: see package rule.
func (APIKey) Policy() ent.Policy {
	return rule.Policy(rule.FilterAPIKeys())
}
