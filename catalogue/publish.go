package catalogue

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"estatecrm/apperr"
	"estatecrm/audit"
	"estatecrm/ent"
	"estatecrm/ent/deal"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/live"
	"estatecrm/rule"
)

// WithdrawAuditAction is the audit action of a unit taken off sale.
const WithdrawAuditAction = "unit.withdraw"

// PublishMaxUnits is the most units one call publishes or unpublishes.
const PublishMaxUnits = 1000

// PublishUnits sets whether units are published (listed by portals, once
// their project is published too). A withdrawn unit cannot be published
// (CONFLICT). Who may do it is the privacy rules': a manager in their
// projects, an admin.
func PublishUnits(ctx context.Context, client *ent.Client, ids []pulid.ID, published bool, now time.Time) ([]*ent.Unit, error) {
	switch {
	case len(ids) == 0:
		return nil, apperr.Input("input.unitIds", "name at least one unit")
	case len(ids) > PublishMaxUnits:
		return nil, apperr.Input("input.unitIds", "at most %d units at once", PublishMaxUnits)
	}
	at := make(map[pulid.ID]int, len(ids))
	for i, id := range ids {
		field := fmt.Sprintf("input.unitIds[%d]", i)
		if !ent.IDOfType(id, unit.Table) {
			return nil, apperr.Input(field, "not the ID of a unit")
		}
		if _, dup := at[id]; dup {
			return nil, apperr.Input(field, "the unit is named twice")
		}
		at[id] = i
	}
	fieldOf := func(i int) string { return fmt.Sprintf("input.unitIds[%d]", i) }
	out, err := unitsInOrder(ctx, client, ids, fieldOf)
	if err != nil {
		return nil, err
	}
	for i, u := range out {
		if published && u.Status == unit.StatusWITHDRAWN {
			e := apperr.New(apperr.Conflict, "unit %s (%s) is withdrawn: it cannot be published", u.Number, u.ID)
			e.Field = fieldOf(i)
			return nil, e
		}
	}
	// Conditional on the status for publishing: a unit withdrawn meanwhile
	// stays unlisted.
	q := client.Unit.Update().Where(unit.IDIn(ids...))
	if published {
		q.Where(unit.StatusNEQ(unit.StatusWITHDRAWN))
	}
	n, err := q.SetPublished(published).SetUpdatedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n != len(ids) {
		return nil, apperr.New(apperr.Conflict, "some units changed meanwhile; try again")
	}
	for _, u := range out {
		u.Published, u.UpdatedAt = published, now
	}
	return out, nil
}

// PublishProject sets whether a project is published: a portal sees a
// published project and, of it, the published units. With units set,
// publishing also publishes every unit of the project not withdrawn (a
// launch: 开盘). A manager may publish their own projects, an admin any.
func PublishProject(ctx context.Context, client *ent.Client, projectID pulid.ID, published, units bool, now time.Time) (*ent.Project, error) {
	if !ent.IDOfType(projectID, project.Table) {
		return nil, apperr.Input("input.projectId", "not the ID of a project")
	}
	p, err := client.Project.UpdateOneID(projectID).SetPublished(published).SetUpdatedAt(now).Save(ctx)
	if ent.IsNotFound(err) {
		e := apperr.New(apperr.NotFound, "no such project")
		e.Field = "input.projectId"
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	if published && units {
		err := client.Unit.Update().
			Where(unit.ProjectID(projectID), unit.Published(false), unit.StatusNEQ(unit.StatusWITHDRAWN)).
			SetPublished(true).SetUpdatedAt(now).Exec(ctx)
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// WithdrawUnit takes a unit that was never sold off sale for good: status
// WITHDRAWN, unpublished, invisible to portals, never deleted (SPEC.md §2:
// nothing with history is). A unit with a deal, even a cancelled one, has a
// sales history and is refused (CONFLICT), as is a unit under a live hold
// (the agent releases it first); a lapsed hold is no obstacle.
func WithdrawUnit(ctx context.Context, client *ent.Client, unitID pulid.ID, reason string, now time.Time) (*ent.Unit, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case !ent.IDOfType(unitID, unit.Table):
		return nil, apperr.Input("input.unitId", "not the ID of a unit")
	case utf8.RuneCountInString(reason) > PriceMaxReason:
		return nil, apperr.Input("input.reason", "at most %d characters", PriceMaxReason)
	}
	u, err := client.Unit.Get(ctx, unitID)
	if err != nil {
		return nil, err
	}
	n, err := client.Unit.Update().
		Where(unit.ID(u.ID), rule.Holdable(now), unit.Not(unit.HasDeals())).
		SetStatus(unit.StatusWITHDRAWN).SetPublished(false).
		ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().SetUpdatedAt(now).
		Save(live.Changing(ctx, u.ID, u.ProjectID))
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, withdrawRefusal(ctx, client, u, now)
	}
	detail := "withdrawn"
	if reason != "" {
		detail += ": " + reason
	}
	if err := audit.Record(ctx, client, audit.Event{Action: WithdrawAuditAction, ObjectID: u.ID, ProjectID: u.ProjectID, Detail: detail}); err != nil {
		return nil, err
	}
	u.Status, u.Published, u.HeldByID, u.HeldForID, u.HoldExpiresAt, u.UpdatedAt = unit.StatusWITHDRAWN, false, nil, nil, nil, now
	return u, nil
}

// withdrawRefusal says why WithdrawUnit's update matched nothing.
func withdrawRefusal(ctx context.Context, client *ent.Client, u *ent.Unit, now time.Time) error {
	if u.Status == unit.StatusWITHDRAWN {
		return apperr.New(apperr.Conflict, "unit %s is already withdrawn", u.Number)
	}
	dealt, err := client.Deal.Query().Where(deal.UnitID(u.ID)).Exist(ctx)
	if err != nil {
		return err
	}
	switch {
	case dealt || (u.Status != unit.StatusAVAILABLE && u.Status != unit.StatusHELD):
		return apperr.New(apperr.Conflict, "unit %s has a deal: a unit with a sales history cannot be withdrawn", u.Number)
	case u.Status == unit.StatusHELD && !rule.HoldLapsed(u, now):
		return apperr.New(apperr.Conflict, "unit %s is held: the hold must be released first", u.Number)
	}
	return apperr.New(apperr.Conflict, "unit %s changed meanwhile; try again", u.Number)
}
