package rule

import (
	"context"
	"time"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent"
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
