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

// UnitHold records that an agent held a unit for a customer (sales.HoldUnit).
// A unit's own row forgets a hold once it is released, lapses or becomes a
// reservation, so without this record the sales funnel could not count the
// holds of a period (issue 13). Rows never change. No edges: the record is
// read only by the dashboards (package report), and keeps no foreign keys
// that would tie the unit, customer and user tables to it.
type UnitHold struct{ ent.Schema }

// Mixin of the UnitHold.
func (UnitHold) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("UH")}
}

// Fields of the UnitHold.
func (UnitHold) Fields() []ent.Field {
	return []ent.Field{
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.String("agent_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.Time("held_at").Immutable().Comment("when, on the domain clock"),
	}
}

// Indexes of the UnitHold: a project's holds of a period.
func (UnitHold) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "held_at"),
		index.Fields("agent_id", "held_at"),
	}
}

// Annotations of the UnitHold: never part of the GraphQL schema.
func (UnitHold) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the UnitHold: see package rule.
func (UnitHold) Policy() ent.Policy {
	return rule.Policy(rule.FilterUnitHolds(), rule.AllowStaffHoldRecords())
}
