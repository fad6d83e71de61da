package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/money"
	"estatecrm/rule"
)

// PriceChange is one change of a unit's list price (调价): the price before
// and after, who changed it, when and why. A record: written once with the
// change (catalogue.SetUnitPrices), never updated.
type PriceChange struct{ ent.Schema }

// Mixin of the PriceChange.
func (PriceChange) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("PC")}
}

// Fields of the PriceChange.
func (PriceChange) Fields() []ent.Field {
	return []ent.Field{
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable().
			Comment("the unit's project, so that its staff's reads filter on one column").
			Annotations(entgql.Skip()),
		field.Int64("old_price").GoType(money.Fen(0)).Min(0).Immutable().
			Annotations(entgql.Type("Money")),
		field.Int64("new_price").GoType(money.Fen(0)).Min(0).Immutable().
			Annotations(entgql.Type("Money")),
		field.String("changed_by_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("empty for the system (seed, jobs)"),
		field.String("reason").NotEmpty().Validate(maxRunes(500)).SchemaType(varchar(500)).Immutable(),
		field.Time("changed_at").Default(now).Immutable().
			Annotations(entgql.OrderField("CHANGED_AT")),
	}
}

// Edges of the PriceChange.
func (PriceChange) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("unit", Unit.Type).Ref("price_history").
			Field("unit_id").Unique().Required().Immutable(),
		edge.To("changed_by", User.Type).Field("changed_by_id").Unique().Immutable(),
	}
}

// Indexes of the PriceChange: a unit's history newest first, and a
// project's changes (the staff filter).
func (PriceChange) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("unit_id", "changed_at"),
		index.Fields("project_id", "changed_at"),
	}
}

// Annotations of the PriceChange: reached only through Unit.priceHistory
// (and node(id:)); no where input, so nothing is filtered by a field the
// rules did not mean to offer.
func (PriceChange) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.Skip(entgql.SkipWhereInput)}
}

// Policy of the PriceChange: see package rule.
func (PriceChange) Policy() ent.Policy {
	return rule.Policy(rule.FilterPriceChanges(), rule.AllowPriceChangeWrites())
}
