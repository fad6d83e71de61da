package graph

import (
	"context"
	"time"

	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/predicate"
	"estatecrm/rule"
)

// holdExpiry adds to a unit filter p, a condition on hold_expires_at, as
// the field reads at the request's clock (rule.ExpiryReads): a lapsed hold
// has no expiry. The resolvers of holdExpiresAt* call it.
func holdExpiry[T any](ctx context.Context, w *ent.UnitWhereInput, data *T, p func(T) predicate.Unit) {
	if data != nil {
		w.AddPredicates(rule.ExpiryReads(p(*data), clock.Now(ctx)))
	}
}

// holdExpiries is holdExpiry of a list (holdExpiresAtIn, holdExpiresAtNotIn).
func holdExpiries(ctx context.Context, w *ent.UnitWhereInput, data []*time.Time, p func(...time.Time) predicate.Unit) {
	if data == nil {
		return
	}
	ts := make([]time.Time, 0, len(data))
	for _, t := range data {
		if t != nil {
			ts = append(ts, *t)
		}
	}
	w.AddPredicates(rule.ExpiryReads(p(ts...), clock.Now(ctx)))
}

// holdExpiryNil adds `holdExpiresAtIsNil: true` (isNil) or
// `holdExpiresAtNotNil: true` as the field reads (rule.ExpiryReadsNil);
// false adds nothing, as entgql does.
func holdExpiryNil(ctx context.Context, w *ent.UnitWhereInput, data *bool, isNil bool) {
	if data != nil && *data {
		w.AddPredicates(rule.ExpiryReadsNil(isNil, clock.Now(ctx)))
	}
}
