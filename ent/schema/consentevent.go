package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/rule"
)

// ConsentEvent is one line of a customer's consent to be contacted (PIPL):
// given, changed (its channels) or withdrawn, when, by which channels, and
// who recorded it. The customer's contact_consent, consent_at and
// consent_channels are the latest event; the events are the history, never
// changed once written.
type ConsentEvent struct{ ent.Schema }

// Mixin of the ConsentEvent.
func (ConsentEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("CN")}
}

// Fields of the ConsentEvent.
func (ConsentEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("customer_id").GoType(pulid.ID("")).Immutable(),
		field.Enum("kind").Values("GIVEN", "CHANGED", "WITHDRAWN").Immutable().
			Comment("decided by the server from the consent before: given, changed while given, or withdrawn"),
		field.Bool("consent").Immutable().
			Comment("whether the customer may be contacted after this event"),
		field.JSON("channels", []schematype.ContactChannel{}).Optional().Immutable().
			Comment("the channels consented to; none once withdrawn").
			Annotations(entgql.Type("[ContactChannel!]")),
		field.String("note").Validate(maxRunes(500)).SchemaType(varchar(500)).Optional().Immutable().
			Comment("how and where the consent was given or withdrawn (a signed form, a call…)"),
		field.String("recorded_by_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the staff member who recorded it; empty for the system"),
		field.Time("created_at").Default(now).Immutable().
			Comment("when it was given, changed or withdrawn"),
	}
}

// Edges of the ConsentEvent.
func (ConsentEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("customer", Customer.Type).Ref("consent_events").
			Field("customer_id").Unique().Required().Immutable().
			Annotations(noWhere),
		edge.To("recorded_by", User.Type).Unique().
			Field("recorded_by_id").Immutable().
			Annotations(noWhere),
	}
}

// Indexes of the ConsentEvent.
func (ConsentEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("customer_id", "created_at")}
}

// Annotations of the ConsentEvent: a Node (node(id:) answers by the rules),
// read through Customer.consentHistory; no where input of its own.
func (ConsentEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipWhereInput)}
}

// Policy of the ConsentEvent: see package rule.
func (ConsentEvent) Policy() ent.Policy {
	return rule.Policy(rule.FilterConsentEvents(), rule.AllowConsentRecords())
}
