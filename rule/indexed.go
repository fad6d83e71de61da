package rule

import (
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/predicate"
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
	if s.Dialect() != dialect.Postgres {
		s.Where(sql.In(column, sub))
		return
	}
	s.Where(sql.P(func(b *sql.Builder) {
		b.WriteString(column).WriteString(" = ANY(ARRAY(").Join(sub).WriteString("))")
	}))
}

// customerOfComplaintsOf is a customer with a complaint that userID works
// (is assigned) or filed: customer.HasComplaintsWith(AssigneeID or FiledByID).
func customerOfComplaintsOf(userID pulid.ID) predicate.Customer {
	return func(s *sql.Selector) {
		t := sql.Table(complaint.Table)
		sub := sql.Select(t.C(complaint.FieldCustomerID)).From(t)
		complaint.Or(complaint.AssigneeID(userID), complaint.FiledByID(userID))(sub)
		inSubquery(s, s.C(customer.FieldID), sub)
	}
}

// visitOfCustomerOwnedBy is a visit of a customer userID owns:
// visit.HasCustomerWith(customer.OwnerID(userID)).
func visitOfCustomerOwnedBy(userID pulid.ID) predicate.Visit {
	return func(s *sql.Selector) {
		t := sql.Table(customer.Table)
		sub := sql.Select(t.C(customer.FieldID)).From(t)
		customer.OwnerID(userID)(sub)
		inSubquery(s, s.C(visit.FieldCustomerID), sub)
	}
}
