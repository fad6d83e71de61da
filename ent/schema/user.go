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
	"estatecrm/rule"
)

// User is a login: staff (admin, manager, agent) or a homeowner.
type User struct{ ent.Schema }

// Mixin of the User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("US"), TimeMixin{}}
}

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Validate(displayName(50)).SchemaType(varchar(50)).
			Annotations(entgql.OrderField("NAME")),
		field.String("login").NotEmpty().MaxLen(64).
			Comment("lower-cased by a hook"),
		field.String("password_hash").Sensitive().Optional().
			Annotations(entgql.Skip()),
		field.Enum("role").Values("ADMIN", "MANAGER", "AGENT", "OWNER"),
		field.String("customer_id").GoType(pulid.ID("")).Optional().Nillable().
			Comment("for a homeowner: the customer record they are"),
		field.Bool("active").Default(true),
		field.Int("failed_logins").Default(0).NonNegative().
			Comment("consecutive failed logins; reset by a successful one").
			Annotations(entgql.Skip()),
		field.Time("locked_until").Optional().Nillable().
			Comment("no login before this time, after repeated failures").
			Annotations(entgql.Skip()),
		field.Int("access_version").Default(0).NonNegative().
			Comment("counts changes of what the user may see (role, projects, customer record); an access token issued before the last one is refused (auth.Revocations)").
			Annotations(entgql.Skip()),
	}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("projects", Project.Type).
			Comment("the projects a staff member works in").
			Annotations(noWhere),
		edge.From("customer", Customer.Type).Ref("login").Field("customer_id").Unique().
			Annotations(noWhere),
		edge.To("customers", Customer.Type).
			Comment("customers this agent owns").
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("visits", Visit.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("deals", Deal.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("filed_complaints", Complaint.Type).
			Annotations(noWhere),
		edge.To("assigned_complaints", Complaint.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("complaint_events", ComplaintEvent.Type).
			Annotations(entgql.Skip()),
		edge.From("held_units", Unit.Type).Ref("held_by").
			Annotations(noWhere),
		edge.To("audit_events", AuditEvent.Type).
			Annotations(entgql.Skip()),
		edge.To("refresh_tokens", RefreshToken.Type).
			Annotations(entgql.Skip(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("login").Unique(),
	}
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
	}
}

// Hooks of the User.
func (User) Hooks() []ent.Hook {
	return []ent.Hook{lowerLogin, checkUserKind, bumpAccessVersion, auditUser}
}

// Policy of the User: see package rule.
func (User) Policy() ent.Policy {
	return rule.Policy(rule.FilterUsers(), rule.AllowOwnPasswordChange())
}
