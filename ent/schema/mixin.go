package schema

import (
	"fmt"
	"time"
	"unicode/utf8"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
)

// TimeMixin records when a row was created and last changed, in UTC.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").
			Default(now).
			Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").
			Default(now).
			UpdateDefault(now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

func now() time.Time { return time.Now().UTC() }

// noWhere keeps an edge out of the GraphQL where-filters. A filter on an
// edge (hasCustomersWith: …) is evaluated in SQL against the edge's rows,
// not through their privacy rules, so it would let a viewer probe rows they
// may not see. Only edges to a unit's project and building, which anyone who
// sees the row may see, stay filterable.
var noWhere = entgql.Skip(entgql.SkipWhereInput)

// maxRunes limits a text to n characters. ent's MaxLen counts bytes, and a
// Chinese character is three of them in UTF-8: a 40-character title would
// pass PostgreSQL's varchar(100) but fail MaxLen(100).
func maxRunes(n int) func(string) error {
	return func(s string) error {
		if utf8.RuneCountInString(s) > n {
			return fmt.Errorf("longer than %d characters", n)
		}
		return nil
	}
}

// varchar keeps the column type MaxLen gave the field on PostgreSQL, where
// varchar(n) counts characters.
func varchar(n int) map[string]string {
	return map[string]string{dialect.Postgres: fmt.Sprintf("character varying(%d)", n)}
}
