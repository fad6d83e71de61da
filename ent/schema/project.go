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
	"estatecrm/ent/schema/schematype"
	"estatecrm/listing"
	"estatecrm/rule"
)

// Project is a development on sale (楼盘), with the rules its sales office runs by.
type Project struct{ ent.Schema }

// Mixin of the Project.
func (Project) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("PJ"), TimeMixin{}}
}

// Fields of the Project.
func (Project) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Validate(displayName(100)).SchemaType(varchar(100)).
			Annotations(entgql.OrderField("NAME")),
		field.String("city").NotEmpty().Validate(maxRunes(50)).SchemaType(varchar(50)).
			Annotations(entgql.OrderField("CITY")),
		field.String("district").Validate(maxRunes(50)).SchemaType(varchar(50)).Default(""),
		field.String("address").Validate(maxRunes(200)).SchemaType(varchar(200)).Default(""),
		field.Float("latitude").Optional().Nillable().Min(-90).Max(90),
		field.Float("longitude").Optional().Nillable().Min(-180).Max(180),
		field.Enum("status").
			Values("PLANNING", "PRESALE", "SELLING", "SOLD_OUT", "DELIVERED").
			Default("PLANNING"),
		field.String("presale_permit").Validate(maxRunes(100)).SchemaType(varchar(100)).Optional().
			Comment("预售许可证号"),
		field.Time("launch_date").Optional().Nillable().
			Annotations(entgql.OrderField("LAUNCH_DATE")),
		field.Time("delivery_date").Optional().Nillable(),
		field.JSON("amenities", []schematype.Amenity{}).Optional().
			Annotations(entgql.Type("[Amenity!]")),
		field.Bool("published").Default(false).
			Comment("visible to listing portals"),
		// The sales-office rules below are staff's business: nillable so that
		// reads by a portal or a homeowner show them as null (maskInternal).
		field.Int("protection_days").Default(30).Range(1, 365).Optional().Nillable().
			Comment("how long a registered customer stays with the registering agent"),
		field.Int("hold_minutes").Default(30).Range(1, 24*60).Optional().Nillable().
			Comment("how long a unit hold lasts"),
		field.Int("agent_discount_cap_bp").Default(300).Range(0, 10000).Optional().Nillable().
			Comment("the largest discount an agent may give alone, in basis points (300 = 3%)"),
	}
}

// Edges of the Project.
func (Project) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("buildings", Building.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("units", Unit.Type).
			// Units are no one's personal data: filtering by them reveals
			// nothing private, and listings need units(where:) here.
			Annotations(entgql.RelayConnection()),
		edge.To("customers", Customer.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("visits", Visit.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("deals", Deal.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("complaints", Complaint.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("audit_events", AuditEvent.Type).
			Annotations(entgql.Skip()),
		edge.From("staff", User.Type).Ref("projects").
			Annotations(entgql.RelayConnection(), noWhere),
	}
}

// Indexes of the Project.
func (Project) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("published", "city"),
	}
}

// Annotations of the Project.
func (Project) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
		// Media are read by the project's ID (graph/media.graphql).
		gqlselect.Fields{"media": nil, "layoutMedia": nil},
	}
}

// Policy of the Project: see package rule. An admin creates projects; a
// manager updates their own (catalogue.UpdateProject).
func (Project) Policy() ent.Policy {
	return rule.Policy(rule.FilterProjects(), rule.AllowProjectPublishing(), rule.AllowManagerProjectUpdates())
}

// Interceptors of the Project.
func (Project) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{maskProjectRules()}
}

// Hooks of the Project: its listed fields' changes reach the portals' change
// log (package listing).
func (Project) Hooks() []ent.Hook {
	return []ent.Hook{listing.ProjectHook, bumpStaffAccess}
}
