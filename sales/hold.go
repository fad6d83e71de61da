package sales

import (
	"context"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// MaxHolds is how many units one agent may hold at once (SPEC.md §3.2).
const MaxHolds = 3

// HoldUnit holds an available unit for a customer of the calling agent, for
// the project's hold minutes. The hold lapses by itself: a unit whose hold
// has expired is available again to the next reader and the next holder,
// with no sweeper. Of any number of concurrent holds on one unit exactly one
// wins; the rest get CONFLICT.
func HoldUnit(ctx context.Context, client *ent.Client, unitID, customerID pulid.ID, now time.Time) (*ent.Unit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	u, err := client.Unit.Query().Where(unit.ID(unitID)).WithProject().Only(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := client.Customer.Query().
		Where(customer.ID(customerID), customer.ProjectID(u.ProjectID), customer.OwnerID(v.UserID)).Exist(ctx)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.Input("input.customerId", "not a customer of yours in the unit's project")
	}
	// One agent's holds are taken one at a time, so that two concurrent
	// holds cannot both count two live ones.
	if err := rule.LockHolds(ctx, client); err != nil {
		return nil, err
	}
	live, err := rule.LiveHolds(ctx, client)
	if err != nil {
		return nil, err
	}
	if live >= MaxHolds {
		return nil, apperr.New(apperr.Conflict, "you already hold %d units; release one first", MaxHolds)
	}
	minutes := 30
	if u.Edges.Project.HoldMinutes != nil {
		minutes = *u.Edges.Project.HoldMinutes
	}
	n, err := client.Unit.Update().
		Where(unit.ID(u.ID), rule.Holdable(now)).
		SetStatus(unit.StatusHELD).SetHeldByID(v.UserID).SetHeldForID(customerID).
		SetHoldExpiresAt(now.Add(time.Duration(minutes) * time.Minute)).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "the unit is not available")
	}
	return client.Unit.Get(ctx, u.ID)
}

// ReleaseHold gives up a hold of the caller's (a manager may release any
// hold in their projects).
func ReleaseHold(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) (*ent.Unit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	q := client.Unit.Update().Where(unit.ID(unitID), rule.LiveHold(now))
	if v.Role == auth.RoleAgent {
		q.Where(unit.HeldByID(v.UserID))
	}
	n, err := q.SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		if _, err := client.Unit.Get(ctx, unitID); err != nil {
			return nil, err
		}
		return nil, apperr.New(apperr.Conflict, "you hold no live hold on this unit")
	}
	return client.Unit.Get(ctx, unitID)
}

// SweepHolds turns lapsed holds back into available units in storage. Holds
// lapse by themselves for every reader without it; the sweep is for what
// filters in SQL (units(where: {status: AVAILABLE})) and for subscribers,
// who hear of the lapse as a status change. It is a background job of the
// server (server/main.go), no request's: it runs as the system, which is
// what auth.SystemContext is for.
func SweepHolds(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	return client.Unit.Update().
		Where(rule.LapsedHold(now)).
		SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().
		Save(auth.SystemContext(ctx))
}
