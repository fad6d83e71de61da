package sales

import (
	"context"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/predicate"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/unithold"
	"estatecrm/live"
	"estatecrm/ride"
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
	// The unit, its project's hold minutes, and whether the customer is the
	// caller's in the unit's project, in one statement (whoever sees a unit
	// sees its project; of the customer only that one bit comes back).
	// Read as stored (rule.StoredReadsAgree): one unit by its id, whose
	// lapsed hold the mask still shows as released; the UPDATE below
	// decides on the row as stored anyway (rule.Holdable). Read through the
	// as-read units table instead, building the statement was a seventh of
	// the server's CPU per hold. The read takes no lock: on PostgreSQL the
	// UPDATE is the hold's one write and its own transaction (graph/tx.go).
	u, err := client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).
		Modify(func(s *sql.Selector) {
			p := sql.Table(project.Table)
			s.LeftJoin(p).On(s.C(unit.FieldProjectID), p.C(project.FieldID)).
				AppendSelectAs(p.C(project.FieldHoldMinutes), projectHoldMinutes)
			c := sql.Table(customer.Table)
			mine := sql.Select(c.C(customer.FieldID)).From(c).Where(sql.And(
				sql.EQ(c.C(customer.FieldID), customerID),
				sql.ColumnsEQ(c.C(customer.FieldProjectID), s.C(unit.FieldProjectID)),
				sql.EQ(c.C(customer.FieldOwnerID), v.UserID)))
			s.AppendSelectExprAs(sql.Exists(mine), customerIsCallers)
		}).Only(ctx)
	if err != nil {
		return nil, err
	}
	yours, err := rule.Selected[bool](u.Value(customerIsCallers))
	if err != nil {
		return nil, err
	}
	if yours == nil || !*yours {
		return nil, apperr.Input("input.customerId", "not a customer of yours in the unit's project")
	}
	holdMinutes, err := rule.Selected[int](u.Value(projectHoldMinutes))
	if err != nil {
		return nil, err
	}
	// One agent's holds are taken one at a time, so that the count of their
	// holds sees every hold they committed: on PostgreSQL the UPDATE's
	// trigger (rule.HoldCapRefused) locks and counts again after the lock;
	// on SQLite the write lock, taken here, serialises the transactions.
	pg := client.Dialect() == dialect.Postgres
	if !pg {
		if err := rule.LockHolds(ctx, client); err != nil {
			return nil, err
		}
	}
	minutes := 30
	if holdMinutes != nil {
		minutes = *holdMinutes
	}
	expires := now.Add(time.Duration(minutes) * time.Minute)
	upd := client.Unit.Update().
		Where(unit.ID(u.ID), rule.Holdable(now), holdsBelow(v.UserID, MaxHolds, now)).
		SetStatus(unit.StatusHELD).SetHeldByID(v.UserID).SetHeldForID(customerID).
		SetHoldExpiresAt(expires).SetUpdatedAt(now)
	// The unit's row forgets the hold once it ends; the sales funnel counts
	// holds from this record (package report). On PostgreSQL it rides on
	// the UPDATE (package ride), written only if the UPDATE changed the
	// unit, with the hooks' change line and live event: one statement.
	// Exactly one of any number of concurrent holds of the unit matches
	// Holdable; the announcement of the change needs no lookup: the unit
	// and its project are known.
	changing := ride.Units(live.Changing(ctx, u.ID, u.ProjectID), upd)
	st := ride.From(changing)
	recorded := pg && st.Add(recordHold(pulid.MustNew(unitHoldPrefix), customerID, v.UserID, now))
	n, err := upd.Save(changing)
	if rule.HoldCapRefused(err) {
		return nil, apperr.New(apperr.Conflict, "you already hold %d units; release one first", MaxHolds)
	}
	if err != nil {
		return nil, err
	}
	if n == 0 {
		held, err := rule.LiveHolds(ctx, client)
		if err != nil {
			return nil, err
		}
		if held >= MaxHolds {
			return nil, apperr.New(apperr.Conflict, "you already hold %d units; release one first", MaxHolds)
		}
		return nil, apperr.New(apperr.Conflict, "the unit is not available")
	}
	if !recorded || !st.Written() {
		err = client.UnitHold.Create().SetUnitID(u.ID).SetCustomerID(customerID).SetAgentID(v.UserID).
			SetProjectID(u.ProjectID).SetHeldAt(now).Exec(ctx)
		if err != nil {
			return nil, err
		}
	}
	// The row is what was read plus what was written: no re-read.
	u.Status, u.HeldByID, u.HeldForID, u.HoldExpiresAt, u.UpdatedAt = unit.StatusHELD, &v.UserID, &customerID, &expires, now
	return u, nil
}

// unitHoldPrefix is the prefix of the ids of unit_holds (the UnitHold
// schema's mixin), for the rows HoldUnit writes itself.
const unitHoldPrefix = "UH"

// recordHold is the INSERT of a hold's record (UnitHold) riding on the
// hold's UPDATE of its unit (PostgreSQL, package ride): a row for the unit
// the UPDATE changed, none if it lost the race. The caller checked what the
// record's privacy rule asks (a salesperson holding a unit they may see,
// for a customer of theirs).
func recordHold(id, customerID, agentID pulid.ID, at time.Time) (sql.Querier, string, string) {
	head := sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("hold_in (id, customer_id, agent_id, held_at) AS (VALUES (CAST(").Arg(id).
			WriteString(" AS text), CAST(").Arg(customerID).WriteString(" AS text), CAST(").Arg(agentID).
			WriteString(" AS text), CAST(").Arg(at.UTC()).WriteString(" AS timestamptz)))")
	})
	return head, holdRecordTail, unit.FieldProjectID
}

// holdRecordTail is the tail of recordHold's rider: a record for each
// unit the hold's UPDATE changed.
var holdRecordTail = "hold_record AS (INSERT INTO " + unithold.Table + " (" + strings.Join([]string{unithold.FieldID,
	unithold.FieldUnitID, unithold.FieldCustomerID, unithold.FieldAgentID, unithold.FieldProjectID,
	unithold.FieldHeldAt}, ", ") + ")\nSELECT h.id, c.id, h.customer_id, h.agent_id, c.project_id, h.held_at FROM hold_in h CROSS JOIN " +
	ride.Changed + " c)"

// The columns HoldUnit's read of the unit adds.
const (
	projectHoldMinutes = "project_hold_minutes"
	customerIsCallers  = "customer_is_callers"
)

// holdsBelow is true while the agent holds fewer than limit units at now
// (rule.Holding: live holds and holds pending a manager's approval, in any
// project: a hold outlives the agent's move to another project until it
// lapses or the manager decides).
func holdsBelow(agentID pulid.ID, limit int, now time.Time) predicate.Unit {
	return func(s *sql.Selector) {
		mine := sql.Table(unit.Table).As("agent_holds")
		count := sql.Select(sql.Count("*")).From(mine)
		unit.And(unit.HeldByID(agentID), rule.Holding(now))(count)
		s.Where(sql.P(func(b *sql.Builder) {
			b.Nested(func(b *sql.Builder) { b.Join(count) }).WriteOp(sql.OpLT).Arg(limit)
		}))
	}
}

// ReleaseHold gives up a hold of the caller's (a manager may release any
// hold in their projects).
func ReleaseHold(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) (*ent.Unit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	// Read first: a unit the caller cannot see is NOT_FOUND, and its
	// project lets the change be announced without a lookup. As stored
	// (see HoldUnit): the UPDATE decides on the stored row (rule.LiveHold).
	u, err := client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).Only(ctx)
	if err != nil {
		return nil, err
	}
	q := client.Unit.Update().Where(unit.ID(u.ID), rule.LiveHold(now))
	if v.Role == auth.RoleAgent {
		q.Where(unit.HeldByID(v.UserID))
	}
	n, err := changeUnit(ctx, q.SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().SetUpdatedAt(now),
		u.ID, u.ProjectID)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, apperr.New(apperr.Conflict, "you hold no live hold on this unit")
	}
	// The row is what was read plus what was written: no re-read.
	u.Status, u.HeldByID, u.HeldForID, u.HoldExpiresAt, u.UpdatedAt = unit.StatusAVAILABLE, nil, nil, nil, now
	return u, nil
}

// changeUnit saves upd, an update of at most the one unit unitID, of
// projectID: its change is announced from what the caller knows
// (live.Changing), and on PostgreSQL the hooks' rows (the listing's change
// line, the live event) ride on its statement (ride.Units).
func changeUnit(ctx context.Context, upd *ent.UnitUpdate, unitID, projectID pulid.ID) (int, error) {
	return upd.Save(ride.Units(live.Changing(ctx, unitID, projectID), upd))
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
