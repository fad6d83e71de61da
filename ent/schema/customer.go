package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"estatecrm/ent/schema/gqlselect"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/schema/schematype"
	"estatecrm/money"
	"estatecrm/rule"
)

// Customer is a person who may buy (客户), identified by phone and attributed
// to the agent who registered them in a project.
type Customer struct{ ent.Schema }

// Mixin of the Customer.
func (Customer) Mixin() []ent.Mixin {
	return []ent.Mixin{pulid.MixinWithPrefix("CU"), TimeMixin{}}
}

// Fields of the Customer.
func (Customer) Fields() []ent.Field {
	return []ent.Field{
		field.String("project_id").GoType(pulid.ID("")).
			Comment("the project the customer was registered in; attribution is per project"),
		field.String("name").NotEmpty().Validate(displayName(50)).SchemaType(varchar(50)).
			Annotations(entgql.OrderField("NAME")),
		field.String("phone").MaxLen(20).
			Comment("E.164, normalised by a hook; one customer per phone in a project; masked for viewers who may not see it").
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
		field.String("phone_last4").MaxLen(4).
			Comment("derived from phone by a hook, for the lookup at the door (where: {phoneLast4: \"8000\"}); the mask shows these digits anyway").
			Annotations(entgql.Skip(entgql.SkipType, entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput, entgql.SkipOrderField)),
		field.Enum("gender").Values("MALE", "FEMALE", "UNKNOWN").Default("UNKNOWN"),
		field.Enum("age_band").
			Values("UNDER_25", "FROM_25_TO_34", "FROM_35_TO_44", "FROM_45_TO_54", "FROM_55").
			Optional().Nillable(),
		field.String("occupation").Validate(maxRunes(50)).SchemaType(varchar(50)).Optional().Nillable(),
		field.Enum("family_structure").
			Values("SINGLE", "COUPLE", "COUPLE_WITH_CHILDREN", "THREE_GENERATIONS", "OTHER").
			Optional().Nillable(),
		field.Enum("source").
			Values("WALK_IN", "REFERRAL", "ONLINE_AD", "SOCIAL", "PORTAL", "EVENT", "HOTLINE", "OTHER"),
		field.Enum("purpose").
			Values("FIRST_HOME", "UPGRADE", "INVESTMENT", "VACATION").
			Optional().Nillable(),
		field.Int64("budget_min").GoType(money.Fen(0)).Min(0).Optional().Nillable().
			Annotations(entgql.Type("Money")),
		field.Int64("budget_max").GoType(money.Fen(0)).Min(0).Optional().Nillable().
			Annotations(entgql.Type("Money")),
		field.JSON("wanted_bedrooms", []int{}).Optional().
			Comment("layouts wanted, by bedrooms"),
		field.Float("wanted_area_min").Min(0).Optional().Nillable(),
		field.Float("wanted_area_max").Min(0).Optional().Nillable(),
		field.JSON("focus_factors", []schematype.FocusFactor{}).Optional().
			Annotations(entgql.Type("[FocusFactor!]")),
		field.Enum("stage").
			Values("LEAD", "VISITED", "NEGOTIATING", "RESERVED", "CONTRACTED", "OWNER", "LOST").
			Default("LEAD").
			Annotations(entgql.OrderField("STAGE")),
		field.Enum("grade").Values("A", "B", "C", "D").Default("C").
			Comment("A: ready within a month; D: invalid").
			Annotations(entgql.OrderField("GRADE")),
		field.String("owner_id").GoType(pulid.ID("")).Optional().Nillable().
			Comment("the owning agent"),
		field.Enum("attribution_rule").Values("REGISTERED", "CLAIMED", "REASSIGNED").Optional().Nillable().
			Comment("how the owning agent got the customer"),
		field.Time("owned_since").Optional().Nillable().
			Comment("when the owning agent took the customer (registration, claim or reassignment)"),
		field.Time("protected_until").Optional().Nillable().
			Annotations(entgql.OrderField("PROTECTED_UNTIL")),
		field.Time("last_contact_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_CONTACT_AT")),
		field.Time("next_follow_up_at").Optional().Nillable().
			Annotations(entgql.OrderField("NEXT_FOLLOW_UP_AT")),
		field.String("next_follow_up_action").Validate(maxRunes(200)).SchemaType(varchar(200)).Optional(),
		field.Bool("contact_consent").Default(false).
			Comment("PIPL: consent to be contacted"),
		field.Time("consent_at").Optional().Nillable(),
		field.JSON("consent_channels", []schematype.ContactChannel{}).Optional().
			Annotations(entgql.Type("[ContactChannel!]")),
		field.JSON("tags", []string{}).Optional(),
		field.Text("notes").Optional(),
		field.String("referred_by_id").GoType(pulid.ID("")).Optional().Nillable().
			Comment("who referred the customer (老带新): another customer, or a homeowner's customer record; read through referredBy, whose rules hide a referrer the viewer may not see").
			Annotations(entgql.Skip()),
	}
}

// Edges of the Customer.
func (Customer) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("project", Project.Type).Ref("customers").
			Field("project_id").Unique().Required(),
		edge.From("owner", User.Type).Ref("customers").
			Field("owner_id").Unique().
			Annotations(noWhere),
		edge.To("visits", Visit.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("deals", Deal.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.To("complaints", Complaint.Type).
			Annotations(entgql.RelayConnection(), noWhere),
		edge.From("held_units", Unit.Type).Ref("held_for").
			Annotations(noWhere),
		edge.To("login", User.Type).Unique().
			Comment("the homeowner login of this customer, once activated").
			Annotations(noWhere),
		edge.To("attribution_history", AttributionEvent.Type).
			Comment("changes of owner and refused registrations, oldest first; managers of the project and admins only").
			Annotations(noWhere),
		edge.To("referrals", Customer.Type).
			Comment("the customers this one referred (老带新), each with their stage: what referral rewards are computed from").
			Annotations(entgql.RelayConnection(), noWhere).
			From("referred_by").Field("referred_by_id").Unique().
			Annotations(noWhere),
		edge.To("consent_events", ConsentEvent.Type).
			Comment("consent to be contacted, given, changed and withdrawn (PIPL); read as consentHistory, newest first").
			Annotations(entgql.Skip()),
	}
}

// Indexes of the Customer.
func (Customer) Indexes() []ent.Index {
	return []ent.Index{
		// A phone is one customer per project (判客 is per project): the
		// same family may be a customer of two projects. Phone first, so
		// that the index also finds a person's records in every project
		// (Customer.sameAs).
		index.Fields("phone", "project_id").Unique(),
		// The lookup at the door (phoneLast4) within the viewer's scope: a
		// manager's projects, or an agent's own customers and public pool.
		// With 1 M customers a suffix matches about 100 rows; the scope's
		// columns in the index let PostgreSQL pick the few in scope
		// without reading the others' rows.
		index.Fields("phone_last4", "project_id", "owner_id"),
		// An agent's customers by next follow-up (myFollowUps); on
		// PostgreSQL it also carries the id, because the visits' read rule
		// asks for every customer an agent owns (visits of their own
		// customers are theirs to see): with it, that list is read from
		// the index alone, not from one heap page per customer (2,526
		// pages, 41 ms, for an agent of 2,703 customers in the scale data).
		index.Fields("owner_id", "next_follow_up_at").
			Annotations(entsql.IncludeColumns("id")),
		index.Fields("project_id", "protected_until"),
		// A project's customers by stage; on PostgreSQL it also carries what
		// the dashboards read of every customer of a project (grades,
		// customers owned, customerValue's RFM), so that they read the
		// index alone, not one heap page per customer (9,800 of them for
		// a project of the scale data).
		index.Fields("project_id", "stage").
			Annotations(entsql.IncludeColumns("grade", "owner_id", "id", "last_contact_at", "budget_min", "budget_max")),
		index.Fields("referred_by_id"),
		// A project's customers registered in a period (the dashboards' leads).
		index.Fields("project_id", "created_at"),
	}
}

// Annotations of the Customer.
func (Customer) Annotations() []schema.Annotation {
	return []schema.Annotation{
		entgql.QueryField(), entgql.RelayConnection(), entgql.MultiOrder(),
		// What the resolvers of graph/sales.graphql read (sales.AttributionOf,
		// sales.ChurnPolicy.Risk): without this a query asking for either
		// loaded all 34 columns.
		gqlselect.Fields{
			"attribution": {"owned_since", "protected_until", "attribution_rule", "owner_id"},
			"churnRisk":   {"grade", "stage", "created_at", "last_contact_at"},
			"sameAs":      {"id"}, // rule.SameAs finds the phone by the ID, in SQL
		},
		// consentHistory loaded with a page of customers in one statement,
		// not one per customer: newest first, the latest 100 (as
		// sales.ConsentHistory answers it for a customer not collected).
		gqlselect.Edges{
			"consentHistory": {Edge: "consent_events", Desc: []string{"created_at", "id"}, Limit: 100},
		},
	}
}

// Hooks of the Customer.
func (Customer) Hooks() []ent.Hook {
	return []ent.Hook{normalizePhone, checkBudget, auditOwner, auditProfile}
}

// Interceptors of the Customer.
func (Customer) Interceptors() []ent.Interceptor {
	return []ent.Interceptor{maskPhones()}
}

// Policy of the Customer: see package rule.
func (Customer) Policy() ent.Policy {
	return rule.Policy(rule.FilterCustomers(), rule.LimitProfileWrites(), rule.AllowStaffCustomerWrites())
}
