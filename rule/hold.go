package rule

import (
	"time"

	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/predicate"
	"estatecrm/ent/unit"
)

// The rules that depend on time, each written once: in SQL for the queries
// and updates that decide by them, and in Go for rows already loaded. Both
// take the time from the caller, who reads it from the request's clock
// (clock.Now), so that a reader, a writer and a privacy rule of one request
// agree on what has lapsed.

// LiveHold is a unit held with a hold that has not run out at now.
func LiveHold(now time.Time) predicate.Unit {
	return unit.And(unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtGT(now))
}

// Holding is a unit its holder holds at now, one of the MaxHolds an agent
// may hold at once (SPEC.md §3.2): a live hold, or a pending one (no
// expiry: PendingHold), which never lapses. A lapsed hold is nobody's.
func Holding(now time.Time) predicate.Unit {
	return StatusReads(unit.StatusHELD, now)
}

// LapsedHold is a unit still stored as held whose hold ran out at or before
// now: it reads as available to everyone, and the next holder may take it.
// It matches the row as stored (HELD, in an UPDATE, such as the sweep's) and
// as a unit query reads it (UnitsAsRead: AVAILABLE, the expiry kept): an
// available unit has no expiry otherwise.
func LapsedHold(now time.Time) predicate.Unit {
	return unit.And(unit.StatusIn(unit.StatusHELD, unit.StatusAVAILABLE), unit.HoldExpiresAtNotNil(), unit.HoldExpiresAtLTE(now))
}

// Holdable is a unit anyone may hold at now: available, or its hold lapsed.
func Holdable(now time.Time) predicate.Unit {
	return unit.Or(unit.StatusEQ(unit.StatusAVAILABLE), LapsedHold(now))
}

// HoldLapsed reports whether LapsedHold(now) holds for a loaded unit, read
// from the table or through UnitsAsRead, which reads it already available
// but with its expiry (an available unit has none otherwise).
func HoldLapsed(u *ent.Unit, now time.Time) bool {
	return (u.Status == unit.StatusHELD || u.Status == unit.StatusAVAILABLE) &&
		u.HoldExpiresAt != nil && !now.Before(*u.HoldExpiresAt)
}

// PublicPool is a customer whose protection has lapsed at now (or who never
// had any): in the public pool (公客池) of their project, claimable by any of
// its agents (SPEC.md §3.1).
func PublicPool(now time.Time) predicate.Customer {
	return func(s *sql.Selector) { s.Where(publicPool(s, now)) }
}

// publicPool is PublicPool's condition on s's customers; now is a
// time.Time, or the slot of a rendered filter (rendered.go).
func publicPool(s *sql.Selector, now any) *sql.Predicate {
	c := s.C(customer.FieldProtectedUntil)
	return sql.Or(sql.IsNull(c), sql.LTE(c, now))
}

// InPublicPool reports whether PublicPool(now) holds for a loaded customer.
func InPublicPool(c *ent.Customer, now time.Time) bool {
	return c.ProtectedUntil == nil || !now.Before(*c.ProtectedUntil)
}
