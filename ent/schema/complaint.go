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

// Complaint is a homeowner's complaint or repair request (投诉/报修) about a unit.
type Complaint struct{ ent.Schema }

// Mixin of the Complaint.
func (Complaint) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("CP"), TimeMixin{}}
}

// Fields of the Complaint.
func (Complaint) Fields() []ent.Field {
	return []ent.Field{
		field.String("unit_id").GoType(pulid.ID("")).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Immutable(),
		field.String("customer_id").GoType(pulid.ID("")).Immutable().
			Comment("the homeowner, or the customer on whose behalf staff filed it"),
		field.String("filed_by_id").GoType(pulid.ID("")).Optional().Nillable().Immutable(),
		field.Enum("category").
			Values("LEAK", "CRACK", "FITTINGS", "OTHER_QUALITY", "PROPERTY_SERVICE", "DELIVERY", "CONTRACT_PRICE", "SALES_SERVICE", "OTHER"),
		field.Enum("severity").Values("URGENT", "NORMAL", "LOW").Default("NORMAL").
			Annotations(entgql.OrderField("SEVERITY")),
		field.String("title").NotEmpty().Validate(displayName(100)).SchemaType(varchar(100)),
		field.Text("description").Validate(maxRunes(5000)),
		field.Enum("status").
			Values("SUBMITTED", "ACKNOWLEDGED", "IN_PROGRESS", "RESOLVED", "CLOSED").
			Comment("a reopened complaint is back IN_PROGRESS (SPEC.md §3.3); its timeline and reopen_count tell it was reopened").
			Default("SUBMITTED").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("department").Values("SALES", "CUSTOMER_SERVICE", "ENGINEERING", "PROPERTY").
			Optional().Nillable(),
		field.String("assignee_id").GoType(pulid.ID("")).Optional().Nillable(),
		field.Time("response_due_at").
			Annotations(entgql.OrderField("RESPONSE_DUE_AT")),
		field.Time("response_risk_at").
			Comment("when the response clock has less than 20% of its window left: the work queue sorts on it").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("resolution_started_at").
			Comment("filing, or the latest reopen: a reopen restarts the resolution clock"),
		field.Time("resolution_due_at").
			Annotations(entgql.OrderField("RESOLUTION_DUE_AT")),
		field.Time("resolution_risk_at").
			Annotations(entgql.Skip(entgql.SkipAll)),
		field.Time("acknowledged_at").Optional().Nillable(),
		field.Time("resolved_at").Optional().Nillable(),
		field.Time("closed_at").Optional().Nillable(),
		field.Text("resolution_note").Optional(),
		field.Int("reopen_count").NonNegative().Default(0),
		field.Int("rating").Range(1, 5).Optional().Nillable(),
		field.String("rating_comment").Validate(maxRunes(1000)).SchemaType(varchar(1000)).Optional(),
		field.Time("rated_at").Optional().Nillable(),
	}
}

// Edges of the Complaint.
func (Complaint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("unit", Unit.Type).Ref("complaints").
			Field("unit_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("project", Project.Type).Ref("complaints").
			Field("project_id").Unique().Required().Immutable(),
		edge.From("customer", Customer.Type).Ref("complaints").
			Field("customer_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.From("filed_by", User.Type).Ref("filed_complaints").
			Field("filed_by_id").Unique().Immutable().
			Annotations(noWhere),
		edge.From("assignee", User.Type).Ref("assigned_complaints").
			Field("assignee_id").Unique().
			Annotations(noWhere),
		edge.To("events", ComplaintEvent.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("photos", ComplaintPhoto.Type).
			Annotations(noWhere),
	}
}

// Indexes of the Complaint: staff work lists sort by status and deadline.
func (Complaint) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("status", "resolution_due_at"),
		index.Fields("project_id", "status"),
		index.Fields("customer_id"),
		// An agent reads the customers of the complaints it works or filed
		// (rule.FilterCustomers): one lookup per request, by these.
		index.Fields("assignee_id"),
		index.Fields("filed_by_id"),
	}
}

// Annotations of the Complaint.
func (Complaint) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
		// What the SLA clocks read (aftersales.ResponseClock, ResolutionClock).
		gqlselect.Fields{
			"responseSla":   {"created_at", "response_due_at", "acknowledged_at"},
			"resolutionSla": {"resolution_started_at", "resolution_due_at", "resolved_at"},
		},
	}
}

// Policy of the Complaint: see package rule.
func (Complaint) Policy() ent.Policy {
	return rule.Policy(rule.FilterComplaints(), rule.AllowComplaintWrites())
}
