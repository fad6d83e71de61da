package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/listing"
	"estatecrm/money"
	"estatecrm/rule"
)

// Unit is one flat for sale (房源) and where it is in the sales cycle.
type Unit struct{ ent.Schema }

// Mixin of the Unit.
func (Unit) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("UN"), TimeMixin{}}
}

// Fields of the Unit.
func (Unit) Fields() []ent.Field {
	return []ent.Field{
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.String("building_id").GoType(pulid.ID("")).Immutable(),
		field.Int("floor").Range(1, 200).
			Annotations(entgql.OrderField("FLOOR")),
		field.String("number").NotEmpty().Validate(maxRunes(20)).SchemaType(varchar(20)).
			Comment("door number, e.g. 1801").
			Annotations(entgql.OrderField("NUMBER")),
		field.Int("bedrooms").Range(0, 10),
		field.Int("living_rooms").Range(0, 5),
		field.Int("bathrooms").Range(0, 6),
		field.Float("gross_area").Positive().Max(10000).
			Comment("建筑面积, m²").
			Annotations(entgql.OrderField("GROSS_AREA")),
		field.Float("net_area").Positive().Max(10000).
			Comment("套内面积, m²"),
		field.Enum("orientation").
			Values("NORTH", "SOUTH", "EAST", "WEST", "NORTHEAST", "NORTHWEST", "SOUTHEAST", "SOUTHWEST", "NORTH_SOUTH", "EAST_WEST"),
		field.Enum("decoration").Values("BARE", "FURNISHED").Default("BARE"),
		field.Int64("list_price").GoType(money.Fen(0)).Min(0).
			Annotations(entgql.Type("Money"), entgql.OrderField("LIST_PRICE")),
		field.Enum("status").
			Values("AVAILABLE", "HELD", "RESERVED", "CONTRACTED", "DELIVERED", "WITHDRAWN").
			Comment("WITHDRAWN: taken off sale, never sold (catalogue.WithdrawUnit); invisible to portals").
			Default("AVAILABLE").
			Annotations(entgql.OrderField("STATUS")),
		field.Bool("published").Default(false),
		field.Time("hold_expires_at").Optional().Nillable().
			Comment("a hold lapses by itself at this time"),
		field.String("held_by_id").GoType(pulid.ID("")).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)), // who holds what is no public filter
		field.String("held_for_id").GoType(pulid.ID("")).Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Edges of the Unit.
func (Unit) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Ref("units").
			Field("project_id").Unique().Required().Immutable(),
		edge.From("building", Building.Type).Ref("units").
			Field("building_id").Unique().Required().Immutable(),
		edge.To("held_by", User.Type).Field("held_by_id").Unique().
			Comment("the agent holding the unit").
			Annotations(noWhere),
		edge.To("held_for", Customer.Type).Field("held_for_id").Unique().
			Comment("the customer the unit is held for").
			Annotations(noWhere),
		edge.To("deals", Deal.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("complaints", Complaint.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.From("shown_in", Visit.Type).Ref("units_shown").
			Annotations(entgql.RelayConnection(), noWhere),
		// Unit.priceHistory is graph/pricing.graphql's: newest first, which
		// a generated edge cannot default to.
		edge.To("price_history", PriceChange.Type).
			Annotations(entgql.Skip()),
	}
}

// Indexes of the Unit: the lookups of a listing (project, status, price,
// and the id that breaks ties in a page's order, so that a page of one
// status is read in order, ready, and stops at its limit, whatever the
// prepared statement's plan: rule.AvailableInOrder), of the sales grid (project, building, floor), and of the units a user
// holds and a customer is held (User.heldUnits, Customer.heldUnits, loaded
// for a page of them at once, and the count of an agent's holds).
func (Unit) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "status", "list_price", "id"),
		// A project's units of one status in the default order (a
		// manager's held units): read in order and stopped at the page's
		// limit. The server's statements have generic plans
		// (database.postgresDSN), made without knowing that HELD is rare:
		// without it the plan walked every unit in id order.
		index.Fields("project_id", "status", "id"),
		index.Fields("project_id", "building_id", "floor"),
		index.Fields("building_id", "number").Unique(),
		index.Fields("held_by_id"),
		index.Fields("held_for_id"),
	}
}

// Annotations of the Unit.
func (Unit) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Hooks of the Unit.
func (Unit) Hooks() []ent.Hook {
	return []ent.Hook{checkUnitPlace, listing.UnitHook}
}

// Policy of the Unit: see package rule.
func (Unit) Policy() ent.Policy {
	return rule.Policy(rule.FilterUnits(),
		rule.DenyNonManagerUnitDescriptionWrites(), rule.AllowManagerUnitCreates(), // the catalogue (issue 11)
		rule.AllowStaffUnitWrites())
}

// Interceptors of the Unit.
func (Unit) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{maskHolds()}
}
