package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/gqlselect"
	"estatecrm/ent/schema/pulid"
	"estatecrm/listing"
	"estatecrm/rule"
)

// Building is a tower of a project (楼栋); a unit's floor must lie within it.
type Building struct{ ent.Schema }

// Mixin of the Building.
func (Building) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("BD"), TimeMixin{}}
}

// Fields of the Building.
func (Building) Fields() []ent.Field {
	return []ent.Field{
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.String("name").NotEmpty().Validate(displayName(50)).SchemaType(varchar(50)).
			Annotations(entgql.OrderField("NAME")),
		field.Int("floors").Range(1, 200).
			Comment("floors above ground; units lie on floors 1..floors"),
		field.Int("units_per_floor").Range(1, 50).Default(4),
	}
}

// Edges of the Building.
func (Building) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Ref("buildings").
			Field("project_id").Unique().Required().Immutable(),
		edge.To("units", Unit.Type).
			// Units are no one's personal data: filtering by them reveals
			// nothing private, and listings need units(where:) here.
			Annotations(entgql.RelayConnection()),
	}
}

// Indexes of the Building.
func (Building) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("project_id", "name").Unique(),
	}
}

// Annotations of the Building.
func (Building) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
		// Media are read by the building's ID (graph/media.graphql).
		gqlselect.Fields{"media": nil},
	}
}

// Policy of the Building: see package rule. Admins, and managers in their
// projects, create and update buildings.
func (Building) Policy() ent.Policy {
	return rule.Policy(rule.FilterBuildings(), rule.AllowManagerBuildingWrites())
}

// Hooks of the Building: its listed fields' changes reach the portals' change
// log (package listing).
func (Building) Hooks() []ent.Hook {
	return []ent.Hook{listing.BuildingHook}
}
