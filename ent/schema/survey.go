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
	"estatecrm/rule"
)

// Survey is a satisfaction survey (满意度回访) sent to a homeowner after a
// complaint of theirs is resolved or a unit of theirs is delivered: CSAT
// (1–5, with a comment) and NPS (0–10, with a reason), answered once. One
// survey per complaint and one per delivery (the unique complaint_id and
// deal_id): a complaint reopened and resolved again keeps its survey. It is
// apart from a complaint's rating (rateComplaint), which is the homeowner's
// acceptance of the fix and decides whether the complaint closes or goes
// back to work; the survey measures the service, and feeds satisfaction.
type Survey struct{ ent.Schema }

// Mixin of the Survey.
func (Survey) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("SV")}
}

// Fields of the Survey.
func (Survey) Fields() []ent.Field {
	return []ent.Field{
		field.Enum("kind").Values("COMPLAINT_RESOLVED", "UNIT_DELIVERED").Immutable().
			Comment("what the survey asks about: a resolved complaint, or a delivery"),
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.String("customer_id").GoType(pulid.ID("")).Immutable().
			Comment("the homeowner asked: the complaint's customer, or the buyer of the delivered unit"),
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.String("complaint_id").GoType(pulid.ID("")).Optional().Nillable().Immutable(),
		field.String("deal_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the contracted deal of a delivered unit"),
		field.String("agent_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the staff member whose work it judges: the complaint's assignee when resolved, or the agent of the delivered unit's deal"),
		field.Time("created_at").Immutable().
			Comment("when it was sent: the resolution or the delivery").
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Int("csat").Range(1, 5).Optional().Nillable().
			Comment("customer satisfaction, 1 (very dissatisfied) to 5 (very satisfied)"),
		field.String("csat_comment").Validate(maxRunes(1000)).SchemaType(varchar(1000)).Optional(),
		field.Int("nps").Range(0, 10).Optional().Nillable().
			Comment("how likely to recommend us, 0 to 10"),
		field.String("nps_reason").Validate(maxRunes(1000)).SchemaType(varchar(1000)).Optional(),
		field.Time("answered_at").Optional().Nillable().
			Annotations(entgql.OrderField("ANSWERED_AT")),
	}
}

// Edges of the Survey. They point out of the survey (no back-references on
// the other entities): each is read through the target's own rules.
func (Survey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("project", Project.Type).Unique().Required().Immutable().
			Field("project_id").Annotations(noWhere),
		edge.To("customer", Customer.Type).Unique().Required().Immutable().
			Field("customer_id").Annotations(noWhere),
		edge.To("unit", Unit.Type).Unique().Required().Immutable().
			Field("unit_id").Annotations(noWhere),
		edge.To("complaint", Complaint.Type).Unique().Immutable().
			Field("complaint_id").Annotations(noWhere),
		edge.To("deal", Deal.Type).Unique().Immutable().
			Field("deal_id").Annotations(noWhere),
		edge.To("agent", User.Type).Unique().Immutable().
			Field("agent_id").Annotations(noWhere),
	}
}

// Indexes of the Survey: one survey per complaint and per delivery (an
// edge's field is not made unique by Unique() alone); satisfaction reads a
// project's answers by when they were given; a homeowner lists theirs.
func (Survey) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("complaint_id").Unique(),
		index.Fields("deal_id").Unique(),
		index.Fields("project_id", "answered_at"),
		index.Fields("customer_id", "created_at"),
	}
}

// Annotations of the Survey: a Node, listed by Query.surveys
// (graph/survey.graphql) with no where input of its own.
func (Survey) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(), entgql.MultiOrder(), entgql.Skip(entgql.SkipWhereInput),
		gqlselect.Fields{"answered": {"answered_at"}},
	}
}

// Policy of the Survey: see package rule. Surveys are made only by
// rule.IssueSurvey, when their complaint is resolved or their unit delivered.
func (Survey) Policy() ent.Policy {
	return rule.Policy(rule.FilterSurveys(), rule.AllowSurveyAnswers())
}
