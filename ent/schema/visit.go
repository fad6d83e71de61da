package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/rule"
)

// Visit is a visit or follow-up (到访/跟进) of a customer by an agent.
type Visit struct{ ent.Schema }

// Mixin of the Visit.
func (Visit) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("VS"), TimeMixin{}}
}

// Fields of the Visit.
func (Visit) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.String("agent_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("kind").
			Values("FIRST_VISIT", "REVISIT", "PHONE_CALL", "MESSAGE", "HOME_VISIT", "ONLINE"),
		field.Time("occurred_at").
			Comment("the client's clock: visits may be logged after the fact").
			Annotations(entgql.OrderField("OCCURRED_AT")),
		field.Int("duration_minutes").Range(0, 24*60).Optional().Nillable(),
		field.JSON("touchpoints", []schematype.Touchpoint{}).Optional().
			Annotations(entgql.Type("[Touchpoint!]")),
		field.Text("notes").Optional(),
		field.Enum("grade_after").Values("A", "B", "C", "D").Optional().Nillable(),
		field.Time("next_follow_up_at").Optional().Nillable(),
		field.String("next_follow_up_action").Validate(maxRunes(200)).SchemaType(varchar(200)).Optional(),
	}
}

// Edges of the Visit.
func (Visit) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("visits").
			Field("customer_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("agent", User.Type).Ref("visits").
			Field("agent_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("project", Project.Type).Ref("visits").
			Field("project_id").Unique().Required().Immutable(),
		edge.To("units_shown", Unit.Type).
			Annotations(noWhere),
	}
}

// Indexes of the Visit.
func (Visit) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("customer_id", "occurred_at"),
		index.Fields("agent_id", "occurred_at"),
		// A project's visits in a period; on PostgreSQL with what the
		// dashboards count them by (kind, agent, customer), so that they
		// read the index alone, not a heap page per visit.
		index.Fields("project_id", "occurred_at").
			Annotations(entsql.IncludeColumns("kind", "agent_id", "customer_id")),
		// A project's follow-ups due in a period (agentBoard, package
		// report), likewise with what agentBoard reads of them.
		index.Fields("project_id", "next_follow_up_at").
			Annotations(entsql.IncludeColumns("agent_id", "customer_id", "occurred_at")),
	}
}

// Annotations of the Visit.
func (Visit) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Policy of the Visit: see package rule.
func (Visit) Policy() ent.Policy {
	return rule.Policy(rule.FilterVisits(), rule.AllowStaffVisitLogs())
}
