package sales

import (
	"context"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/predicate"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
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
	// One agent's holds are taken one at a time: touching the agent's row
	// locks it until the transaction ends (a row lock on PostgreSQL, the
	// write lock on SQLite), so two concurrent holds cannot both see two.
	if err := client.User.UpdateOneID(v.UserID).SetUpdatedAt(now).Exec(auth.SystemContext(ctx)); err != nil {
		return nil, err
	}
	live, err := client.Unit.Query().
		Where(unit.HeldByID(v.UserID), unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtGT(now)).
		Count(auth.SystemContext(ctx))
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
		Where(unit.ID(u.ID), available(now)).
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
	q := client.Unit.Update().Where(unit.ID(unitID), unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtGT(now))
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

// available is the condition of a unit anyone may hold now: available, or
// held with a hold that has run out.
func available(now time.Time) predicate.Unit {
	return unit.Or(unit.StatusEQ(unit.StatusAVAILABLE),
		unit.And(unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtLTE(now)))
}

// SweepHolds turns lapsed holds back into available units in storage. Holds
// lapse by themselves for every reader without it; the sweep is for what
// filters in SQL (units(where: {status: AVAILABLE})) and for subscribers,
// who hear of the lapse as a status change. It runs as the system.
func SweepHolds(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	return client.Unit.Update().
		Where(unit.StatusEQ(unit.StatusHELD), unit.HoldExpiresAtLTE(now)).
		SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().
		Save(auth.SystemContext(ctx))
}
