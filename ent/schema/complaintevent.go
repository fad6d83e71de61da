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

// ComplaintEvent is one line of a complaint's timeline: who did what, when.
type ComplaintEvent struct{ ent.Schema }

// Mixin of the ComplaintEvent.
func (ComplaintEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("CE")}
}

// Fields of the ComplaintEvent.
func (ComplaintEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("complaint_id").GoType(pulid.ID("")).Immutable(),
		field.String("actor_id").GoType(pulid.ID("")).Optional().Nillable().Immutable(),
		field.Enum("kind").
			Values("SUBMITTED", "ACKNOWLEDGED", "ASSIGNED", "STARTED", "RESOLVED", "CLOSED", "REOPENED", "RATED", "NOTE").
			Immutable(),
		field.String("from_status").MaxLen(20).Optional().Immutable(),
		field.String("to_status").MaxLen(20).Optional().Immutable(),
		field.Text("note").Optional().Immutable(),
		field.Bool("internal").Default(false).Immutable().
			Comment("a staff note the homeowner does not see"),
		field.Time("created_at").Default(now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the ComplaintEvent.
func (ComplaintEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("complaint", Complaint.Type).Ref("events").
			Field("complaint_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("actor", User.Type).Ref("complaint_events").
			Field("actor_id").Unique().Immutable().
			Annotations(noWhere),
	}
}

// Indexes of the ComplaintEvent.
func (ComplaintEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("complaint_id", "created_at")}
}

// Annotations of the ComplaintEvent.
func (ComplaintEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.MultiOrder()}
}

// Policy of the ComplaintEvent: see package rule.
func (ComplaintEvent) Policy() ent.Policy {
	return rule.Policy(rule.FilterComplaintEvents(), rule.AllowComplaintEventWrites())
}
