package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"

	"estatecrm/rule"
)

// CostBucket is the query-cost budget a portal key has left, shared by every
// server process when the cost store is PostgreSQL (see package cost). It is
// read and written by one UPSERT statement, never through ent; the schema is
// here so that migrations create the table.
type CostBucket struct{ ent.Schema }

// Fields of the CostBucket.
func (CostBucket) Fields() []ent.Field {
	return []ent.Field{
		field.String("id").NotEmpty().MaxLen(100).Immutable().
			Comment("the budget's key: ak:<API key id>"),
		field.Float("tokens").
			Comment("points left at updated_at; what accrued since is computed when it is next read"),
		field.Time("updated_at"),
		field.Bool("granted").Default(false).
			Comment("whether the last take was granted: the UPSERT's answer, as RETURNING cannot see the old row"),
	}
}

// Annotations of the CostBucket: never part of the GraphQL schema.
func (CostBucket) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// Policy of the CostBucket: the server's own bookkeeping.
func (CostBucket) Policy() ent.Policy {
	return rule.SystemOnly()
}
