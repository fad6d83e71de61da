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

// AuditEvent records who read or changed personal data or an attribution.
type AuditEvent struct{ ent.Schema }

// Mixin of the AuditEvent.
func (AuditEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("AU")}
}

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("actor_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("empty for the system"),
		field.String("action").NotEmpty().MaxLen(50).Immutable().
			Comment("e.g. customer.phone.read, customer.owner.change"),
		field.String("object_id").MaxLen(40).Immutable(),
		field.String("project_id").GoType(pulid.ID("")).Optional().Nillable().Immutable().
			Comment("the project the object belongs to, so its managers can see the event"),
		field.String("detail").Validate(maxRunes(1000)).SchemaType(varchar(1000)).Optional().Immutable().
			Comment("what changed, e.g. \"owner US… → US…\"; never the personal data itself"),
		field.Time("created_at").Default(now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
	}
}

// Edges of the AuditEvent.
func (AuditEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("actor", User.Type).Ref("audit_events").
			Field("actor_id").Unique().Immutable().
			Annotations(noWhere),
		edge.From("project", Project.Type).Ref("audit_events").
			Field("project_id").Unique().Immutable(),
	}
}

// Indexes of the AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("actor_id", "created_at"),
		index.Fields("object_id", "created_at"),
		index.Fields("project_id", "created_at"),
	}
}

// Annotations of the AuditEvent.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Policy of the AuditEvent: see package rule.
func (AuditEvent) Policy() ent.Policy {
	return rule.Policy(rule.FilterAuditEvents())
}
