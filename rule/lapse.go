package rule

import (
	"context"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/predicate"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

// NextHoldLapse is when the first hold the viewer can see in a project runs
// out by itself: the earliest expiry of a live hold among the project's
// units the viewer may see, zero if none. A unit held then reads as
// available (HoldLapsed), so an answer about those units is good until
// then; the sales-grid cache (package api) keeps one no longer.
//
// A probe because only staff read a hold's expiry (maskHolds): a portal
// sees a unit held, not until when. It answers a moment the viewer would
// learn anyway by asking again then, and nothing of who holds what.
func NextHoldLapse(ctx context.Context, client *ent.Client, project pulid.ID) (time.Time, error) {
	v := auth.FromContext(ctx)
	if v == nil {
		return time.Time{}, ErrUnauthenticated
	}
	// Scanned into a row of its own rather than loaded as units, which the
	// masks would strip of their expiry for everyone but staff.
	var rows []struct {
		HoldExpiresAt *time.Time `json:"hold_expires_at"`
	}
	err := client.Unit.Query().
		Where(unit.ProjectID(project), LiveHold(clock.Now(ctx)), UnitsVisibleTo(v)).
		Order(ent.Asc(unit.FieldHoldExpiresAt)).Limit(1).
		Select(unit.FieldHoldExpiresAt).Scan(bypass(ctx), &rows)
	if err != nil || len(rows) == 0 || rows[0].HoldExpiresAt == nil {
		return time.Time{}, err
	}
	return rows[0].HoldExpiresAt.UTC(), nil
}

// notLapsed is the negation of LapsedHold, NULLs included: a unit neither
// held nor available (both as stored and as read through UnitsAsRead), or
// with no end, or held until after now.
func notLapsed(now time.Time) predicate.Unit {
	return unit.Or(unit.StatusNotIn(unit.StatusHELD, unit.StatusAVAILABLE), unit.HoldExpiresAtIsNil(), unit.HoldExpiresAtGT(now))
}

// ExpiryReads is p, a condition on a unit's hold_expires_at, as the field
// reads at now: a lapsed hold has no expiry (maskHolds), so no comparison
// with its stored one finds it, neither in a unit query (whose rows
// UnitsAsRead reads keeping the stored expiry) nor in a subquery of units
// (projects(where: {hasUnitsWith: …})). A filter on the expiry is the
// staff's in any case (rule.MayFilter).
func ExpiryReads(p predicate.Unit, now time.Time) predicate.Unit {
	return unit.And(notLapsed(now), p)
}

// ExpiryReadsNil is a unit whose hold_expires_at reads as null at now (none
// stored, or a lapsed hold's), or, with isNil false, reads as a time.
func ExpiryReadsNil(isNil bool, now time.Time) predicate.Unit {
	if isNil {
		return unit.Or(unit.HoldExpiresAtIsNil(), LapsedHold(now))
	}
	return unit.And(unit.HoldExpiresAtNotNil(), notLapsed(now))
}

// StatusReads is a unit whose status reads as s at now: a filter on status
// (units(where: {status: AVAILABLE})) sees a lapsed hold as the unit's
// fields show it (maskHolds), AVAILABLE, before any sweep.
func StatusReads(s unit.Status, now time.Time) predicate.Unit {
	switch s {
	case unit.StatusAVAILABLE: // LapsedHold, with no NULL to spoil a NOT around it
		return unit.Or(unit.StatusEQ(unit.StatusAVAILABLE),
			unit.And(unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtNotNil(), unit.HoldExpiresAtLTE(now)))
	case unit.StatusHELD:
		return unit.And(unit.StatusEQ(unit.StatusHELD), notLapsed(now))
	}
	return unit.StatusEQ(s)
}

// StatusReadsIn is StatusReads of any of ss.
func StatusReadsIn(ss []unit.Status, now time.Time) predicate.Unit {
	ps := make([]predicate.Unit, 0, len(ss))
	for _, s := range ss {
		ps = append(ps, StatusReads(s, now))
	}
	if len(ps) == 0 {
		return func(s *sql.Selector) { s.Where(sql.False()) }
	}
	return unit.Or(ps...)
}

// PendingHold is a unit held by agent for customer with no end: the hold a
// reservation pending a manager's approval of its discount keeps
// (sales.ReserveUnit). It never lapses (LapsedHold needs an expiry), so
// nobody else may hold the unit and the sweep leaves it; it is no LiveHold,
// so its agent can neither release nor reserve it again: the manager's
// approveDiscount or rejectDiscount ends it. Until then it is one of the
// agent's holds against their limit (Holding).
func PendingHold(agent, customer pulid.ID) predicate.Unit {
	return unit.And(unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtIsNil(), unit.HeldByID(agent), unit.HeldForID(customer))
}

// UnitsAsRead has a statement read the units table as it reads at now: in
// the row itself a lapsed hold is an available unit held by nobody, for
// nobody, as its fields show it (maskHolds). Whatever the
// statement does with those columns then agrees with the fields, in
// particular the ordering by status (orderBy: [{field: STATUS}]) and the
// condition its cursor puts on status, which entgql writes on the column
// itself (a lapsed hold sorts, and pages, among the available units), and
// the reads by holder (a user's or a customer's held units, eager-loaded
// or traversed: a lapsed hold is nobody's). The Unit interceptor
// (maskHolds) adds it to every unit query, so that Query.units, the edges
// of projects and buildings (eager-loaded or not), node(id:), counts and
// groupings all read the same rows.
//
// The table in FROM becomes a derived table of the same name, the UNION
// ALL of two reads of the table: the rows that have not lapsed, every
// column as stored, and the lapsed holds, read as AVAILABLE with no holder
// and no customer; the rest of the statement is left as it is. Two
// branches rather than one read with a CASE on the lapse in the three
// columns keep the statement's conditions on those columns sargable:
// PostgreSQL pushes a condition on the derived table into each branch,
// where status and the holder's keys are the stored columns (the indexes
// on (project_id, status, list_price), held_by_id and held_for_id serve
// them) or constants (held_by_id = $1 is false at once in the lapsed
// branch), whereas a condition on a CASE is a filter on every row the
// other conditions leave (a project's units, or all of them);
// asread_plan_test.go in cmd/bench EXPLAINs it. The expiry is read as
// stored in both: a CASE would lose its declared type on SQLite, which
// then hands back text for a time. A lapsed row so read is an available
// unit with a past expiry, which HoldLapsed and LapsedHold still tell, so
// the mask clears the expiry as for a lapsed hold read from the table, and
// filters on the expiry go through ExpiryReads. Updates write the table
// itself, where LapsedHold finds the row as stored.
func UnitsAsRead(now time.Time) predicate.Unit {
	return func(s *sql.Selector) {
		d := sql.Dialect(s.Dialect())
		// notLapsed as stored: a hold with no end or one that runs past now,
		// or no hold (status is never NULL).
		live := d.Select().From(d.Table(unit.Table)).
			Where(sql.Or(sql.NEQ(unit.FieldStatus, unit.StatusHELD.String()),
				sql.IsNull(unit.FieldHoldExpiresAt), sql.GT(unit.FieldHoldExpiresAt, now)))
		lapsed := d.Select().From(d.Table(unit.Table)).
			Where(sql.And(sql.EQ(unit.FieldStatus, unit.StatusHELD.String()),
				sql.NotNull(unit.FieldHoldExpiresAt), sql.LTE(unit.FieldHoldExpiresAt, now)))
		for _, c := range unit.Columns {
			live.AppendSelect(c)
			switch c {
			case unit.FieldStatus:
				// A literal, not an argument: PostgreSQL gives the branch's
				// column the type of the stored one (varchar), without which
				// it would not push a condition on status into the branches.
				lapsed.AppendSelectExprAs(sql.Expr("'"+unit.StatusAVAILABLE.String()+"'"), c)
			case unit.FieldHeldByID, unit.FieldHeldForID:
				lapsed.AppendSelectExprAs(sql.Expr("NULL"), c)
			default:
				lapsed.AppendSelect(c)
			}
		}
		s.From(live.UnionAll(lapsed).As(unit.Table))
	}
}

// A unit statement needs the as-read table only when it reads status, the
// holder's keys or the expiry in a way the stored row would answer
// differently: a raw condition on them (unit.StatusEQ, unit.HeldByID, the
// keys of the holders' edges users { heldUnits } and customers {
// heldUnits }), an ordering by status and its cursor, a grouping. Where it
// reads them only through the predicates of this file (StatusReads,
// ExpiryReads, LapsedHold, Holding, …), which select the same rows from the
// table as stored and through UnitsAsRead, and orders by columns a lapse
// leaves alone, the table itself gives the same rows in the same order, and
// the Unit interceptor (maskHolds) fixes each lapsed row's fields up in Go
// after the read. The as-read table costs PostgreSQL as much to plan as the
// rest of a listing's statement and twice the reads (two branches), so a
// query that is known to need none says so with StoredReadsAgree; every
// other unit query keeps it.

// storedAgrees is the mark StoredReadsAgree leaves in a statement's
// selector (its context, which ent builds per statement); asReadApplied is
// the mark that UnitsAsReadUnlessStoredAgrees has replaced its table.
type (
	storedAgrees  struct{}
	asReadApplied struct{}
)

// StoredReadsAgree marks a unit query whose conditions read status, the
// holder's keys and the expiry only through the predicates of this file,
// and whose order is on no column a lapse changes (UnitOrderReadsStored):
// read from the table as stored it selects, orders and pages the same rows
// as through UnitsAsRead. The caller answers for the whole query (no
// grouping or Select of status either); the privacy filters of units
// (UnitsVisibleTo) read status only as WITHDRAWN or not, which a lapse
// does not change.
func StoredReadsAgree() predicate.Unit {
	return func(s *sql.Selector) {
		s.WithContext(context.WithValue(s.Context(), storedAgrees{}, true))
	}
}

// UnitOrderReadsStored reports whether ordering units by these fields
// sorts (and places a cursor) on the stored row as on the row as read: each
// is a column a lapse leaves alone. Status is not (a lapsed hold sorts
// among the available units), nor is an order field this list does not
// know yet.
func UnitOrderReadsStored(orderBy []*ent.UnitOrder) bool {
	for _, o := range orderBy {
		if o == nil || o.Field == nil {
			continue
		}
		switch o.Field.String() {
		case ent.UnitOrderFieldCreatedAt.String(), ent.UnitOrderFieldUpdatedAt.String(), ent.UnitOrderFieldFloor.String(),
			ent.UnitOrderFieldNumber.String(), ent.UnitOrderFieldGrossArea.String(), ent.UnitOrderFieldListPrice.String():
		default:
			return false
		}
	}
	return true
}

// UnitsAsReadUnlessStoredAgrees reads the statement's units through
// UnitsAsRead(now) unless a predicate before it marked the statement
// StoredReadsAgree. The Unit interceptor adds it to every unit query, after
// the caller's predicates (and before those of the privacy policy, which
// mark nothing). As a predicate it replaces the table before ent's
// modifiers run when rows are loaded, one of which wraps the statement
// (entgql's row_number limit of an edge loaded for several parents).
// Applied twice (a query run again) it replaces the table once.
func UnitsAsReadUnlessStoredAgrees(now time.Time) predicate.Unit {
	return func(s *sql.Selector) {
		ctx := s.Context()
		if ctx.Value(storedAgrees{}) != nil || ctx.Value(asReadApplied{}) != nil {
			return
		}
		UnitsAsRead(now)(s)
		s.WithContext(context.WithValue(ctx, asReadApplied{}, true))
	}
}

// AvailableInOrder is a modifier of a page of units that reads only units
// that read as available (StatusReads(AVAILABLE) is one of its WHERE's
// conjuncts; the caller answers for it), for PostgreSQL, which would
// otherwise read them all: `status = 'AVAILABLE' OR (status = 'HELD' AND
// <lapsed>)` is a BitmapOr over the index on (project_id, status,
// list_price) that fetches every matching unit of the project (340 of the
// 600-unit grid project for a price range) and sorts them all for a page of
// 21. The statement becomes the same statement over its two disjoint
// halves, the units stored AVAILABLE and those stored HELD (of which its
// WHERE keeps the lapsed holds), each ordered and limited as the page is,
// merged (Merge Append) and limited again:
//
//	SELECT <cols> FROM (SELECT * FROM (<statement> AND status = 'AVAILABLE') AS a
//	  UNION ALL SELECT * FROM (<statement> AND status = 'HELD') AS h) AS units
//	<its joins> ORDER BY <its order> LIMIT n
//
// Each half is an ordered index scan that stops after about a page (the
// held half reads the project's held units in the range, at most three an
// agent); asread_plan_test.go in cmd/bench EXPLAINs it. The halves are
// clones of the statement (its conditions, privacy and cursor included,
// joins, order and limit), so a row of the page is in exactly one half and
// the first n of the merge are the first n of all. The statement must have
// no OFFSET and only joins to one row (a page of entgql or listing.List);
// without ORDER BY and LIMIT (a COUNT) it counts the two halves. SQLite
// keeps the plain statement.
func AvailableInOrder() func(*sql.Selector) {
	return func(s *sql.Selector) {
		if s.Dialect() != dialect.Postgres {
			return
		}
		// The halves' conditions are the same with the same values: the
		// held half writes the text the available half wrote (written
		// first: UNION ALL's order), its parameters' numbers included,
		// which PostgreSQL binds to the same values. The conditions are
		// built once and their values sent once (a listing page's 20
		// parameters became 12).
		var written string
		half := func(status unit.Status, as string) *sql.Selector {
			h := s.Clone()
			p := sql.EQ(h.C(unit.FieldStatus), status.String())
			if w := h.P(); w != nil {
				first := status == unit.StatusAVAILABLE
				// In parentheses: Where would append AND to a bare OR.
				p = sql.And(sql.P(func(b *sql.Builder) {
					if !first && written != "" {
						b.WriteString(written)
						return
					}
					b.Wrap(func(b *sql.Builder) {
						b.Join(w)
						if first {
							written = b.String() + ")"
						}
					})
				}), p)
			}
			// units.*, not the columns by name: the same row (a join's
			// columns left out) in half the statement's text (a listing
			// page's 2,588 bytes became 1,244), which the server builds,
			// quotes and hashes (the cache of prepared statements) for
			// every page.
			h.Select(h.C("*")).SetP(p)
			return sql.Dialect(s.Dialect()).Select("*").From(h.As(as))
		}
		available, held := half(unit.StatusAVAILABLE, "a"), half(unit.StatusHELD, "h")
		s.SetP(nil)
		s.From(available.UnionAll(held).As(unit.Table))
	}
}
