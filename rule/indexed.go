package rule

import (
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/visit"
)

// An agent's read filters are ORs (their own rows, or rows of their
// customers, or of complaints they work). PostgreSQL answers an OR from
// indexes (a BitmapOr) only when every arm is an index condition on the
// table read; a correlated EXISTS or an IN (subquery) arm is not, and the
// whole OR then reads every row of customers or visits (1 M and 10 M rows
// on the scale data set). The arms below are the same sets written as
// `column = ANY(ARRAY(subquery))`: the subquery runs once, and the
// condition is an index condition. SQLite gets the plain IN (subquery).

// inSubquery restricts s to rows whose column is among sub's rows.
func inSubquery(s *sql.Selector, column string, sub *sql.Selector) {
	s.Where(inSubqueryP(s, column, sub))
}

// inSubqueryP is inSubquery's condition.
func inSubqueryP(s *sql.Selector, column string, sub *sql.Selector) *sql.Predicate {
	if s.Dialect() != dialect.Postgres {
		return sql.In(column, sub)
	}
	return sql.P(func(b *sql.Builder) {
		b.WriteString(column).WriteString(" = ANY(ARRAY(").Join(sub).WriteString("))")
	})
}

// customerOfComplaintsOfP is a customer of s with a complaint that userID
// works (is assigned) or filed: customer.HasComplaintsWith(AssigneeID or
// FiledByID).
func customerOfComplaintsOfP(s *sql.Selector, userID pulid.ID) *sql.Predicate {
	t := sql.Table(complaint.Table)
	sub := sql.Select(t.C(complaint.FieldCustomerID)).From(t)
	sub.Where(sql.Or(sql.EQ(t.C(complaint.FieldAssigneeID), userID), sql.EQ(t.C(complaint.FieldFiledByID), userID)))
	return inSubqueryP(s, s.C(customer.FieldID), sub)
}

// visitOfCustomerOwnedByP is a visit of s of a customer userID owns:
// visit.HasCustomerWith(customer.OwnerID(userID)).
func visitOfCustomerOwnedByP(s *sql.Selector, userID pulid.ID) *sql.Predicate {
	t := sql.Table(customer.Table)
	sub := sql.Select(t.C(customer.FieldID)).From(t).Where(sql.EQ(t.C(customer.FieldOwnerID), userID))
	return inSubqueryP(s, s.C(visit.FieldCustomerID), sub)
}

// anys is ids as the arguments of an IN.
func anys(ids []pulid.ID) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}
