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

// Deal is the sale of a unit: pending a manager's approval of its discount,
// reserved (认购), contracted (签约) or cancelled.
type Deal struct{ ent.Schema }

// Mixin of the Deal.
func (Deal) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("DL"), TimeMixin{}}
}

// Fields of the Deal.
func (Deal) Fields() []ent.Field {
	return []ent.Field{
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.String("agent_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		// PENDING_APPROVAL: an agent's reservation with a discount above the
		// project's agent cap, waiting for a manager (approveDiscount →
		// RESERVED, rejectDiscount → CANCELLED); its unit stays held for it
		// with no expiry meanwhile (sales.ReserveUnit).
		field.Enum("stage").Values("PENDING_APPROVAL", "RESERVED", "CONTRACTED", "CANCELLED").Default("RESERVED").
			Annotations(entgql.OrderField("STAGE")),
		// The terms (price, discount, deposit) are required on create (hook
		// requireTerms) but nillable: an agent reading another agent's deal
		// (of a customer since reassigned to them) sees them as null.
		field.Int64("price").GoType(money.Fen(0)).Min(0).Optional().Nillable().
			Comment("the agreed price after discount").
			Annotations(entgql.Type("Money"), entgql.OrderField("PRICE")),
		field.Int("discount_bp").Range(0, 10000).Default(0).Optional().Nillable().
			Comment("discount off the list price in basis points"),
		field.Enum("payment_method").Values("FULL", "MORTGAGE", "PROVIDENT_FUND", "INSTALMENTS"),
		field.Int64("deposit").GoType(money.Fen(0)).Min(0).Default(0).Optional().Nillable().
			Annotations(entgql.Type("Money")),
		field.Time("reserved_at").
			Annotations(entgql.OrderField("RESERVED_AT")),
		field.Time("contracted_at").Optional().Nillable(),
		field.Time("cancelled_at").Optional().Nillable(),
		field.String("cancel_reason").Validate(maxRunes(500)).SchemaType(varchar(500)).Optional(),
	}
}

// Edges of the Deal.
func (Deal) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("unit", Unit.Type).Ref("deals").
			Field("unit_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("customer", Customer.Type).Ref("deals").
			Field("customer_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("agent", User.Type).Ref("deals").
			Field("agent_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("project", Project.Type).Ref("deals").
			Field("project_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Deal.
func (Deal) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("unit_id", "stage"),
		index.Fields("customer_id"),
		index.Fields("project_id", "stage", "reserved_at"),
	}
}

// Annotations of the Deal.
func (Deal) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Policy of the Deal: see package rule.
func (Deal) Policy() ent.Policy {
	return rule.Policy(rule.FilterDeals(), rule.AllowStaffDealWrites())
}

// Hooks of the Deal.
func (Deal) Hooks() []ent.Hook {
	return []ent.Hook{requireTerms}
}

// Interceptors of the Deal.
func (Deal) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{maskDealTerms()}
}
