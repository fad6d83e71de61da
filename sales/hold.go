package sales

import (
	"context"
	"strconv"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

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
//
// On PostgreSQL a hold is one statement: the UPDATE checks what a read
// before it would (the unit is one the caller may change, the customer is
// theirs in the unit's project, the caller holds fewer than MaxHolds), takes
// the expiry from the project's hold minutes, writes the hold's record, the
// listing's change line and the live event beside it (package ride) and
// returns the unit as it left it; only when it changed nothing does a read
// say why (holdRefused). Building and running the read before the UPDATE
// was a quarter of the server's work on a hold and its release. The
// statement is its own transaction (graph/tx.go).
func HoldUnit(ctx context.Context, client *ent.Client, unitID, customerID pulid.ID, now time.Time) (*ent.Unit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	pg := client.Dialect() == dialect.Postgres
	// The change is announced with the unit's project (live.Changing),
	// which a unit never changes: read once, then kept (unitProjects). On
	// SQLite the read also gives the hold minutes.
	projectID, known := unitProjects.Get(unitID)
	var read *ent.Unit
	if !pg || !known {
		if read, err = readForHold(ctx, client, v, unitID, customerID); err != nil {
			return nil, err
		}
		projectID = read.ProjectID
		unitProjects.Add(unitID, projectID)
	}
	// One agent's holds are taken one at a time, so that the count of their
	// holds sees every hold they committed: on PostgreSQL the UPDATE's
	// trigger (rule.HoldCapRefused) locks and counts again after the lock;
	// on SQLite the write lock, taken here, serialises the transactions.
	if !pg {
		if err := rule.LockHolds(ctx, client); err != nil {
			return nil, err
		}
	}
	upd := client.Unit.Update().
		Where(unit.ID(unitID), rule.Holdable(now), holdsBelow(v.UserID, MaxHolds, now), customerOfIn(v.UserID, customerID)).
		SetStatus(unit.StatusHELD).SetHeldByID(v.UserID).SetHeldForID(customerID).SetUpdatedAt(now)
	var expires time.Time
	if pg {
		upd.Modify(expiresAfterHoldMinutes(now))
	} else {
		expires = now.Add(time.Duration(holdMinutes(read)) * time.Minute)
		upd.SetHoldExpiresAt(expires)
	}
	// The unit's row forgets the hold once it ends; the sales funnel counts
	// holds from this record (package report). On PostgreSQL it rides on
	// the UPDATE, written only if the UPDATE changed the unit. Exactly one
	// of any number of concurrent holds of the unit matches Holdable.
	recorded := false
	u, written, err := saveUnit(ctx, client, upd, unitID, projectID, func(st *ride.Statement) {
		recorded = pg && st.Add(recordHold(pulid.MustNew(unitHoldPrefix), customerID, v.UserID, now))
	}, func() *ent.Unit {
		if read == nil || pg {
			return nil
		}
		read.Status, read.HeldByID, read.HeldForID, read.HoldExpiresAt, read.UpdatedAt = unit.StatusHELD, &v.UserID, &customerID, &expires, now
		return read
	})
	if rule.HoldCapRefused(err) {
		return nil, apperr.New(apperr.Conflict, "you already hold %d units; release one first", MaxHolds)
	}
	if err != nil {
		return nil, err
	}
	if u == nil {
		return nil, holdRefused(ctx, client, v, unitID, customerID, read)
	}
	if !recorded || !written {
		err = client.UnitHold.Create().SetUnitID(unitID).SetCustomerID(customerID).SetAgentID(v.UserID).
			SetProjectID(projectID).SetHeldAt(now).Exec(ctx)
		if err != nil {
			return nil, err
		}
	}
	return u, nil
}

// readForHold reads the unit to hold with its project's hold minutes and
// whether the customer is the caller's in the unit's project, in one
// statement (whoever sees a unit sees its project; of the customer only
// that one bit comes back): NOT_FOUND for a unit the caller cannot see, a
// coded input error for a customer not theirs. Read as stored
// (rule.StoredReadsAgree): one unit by its id, whose lapsed hold the mask
// still shows as released; the UPDATE decides on the row as stored anyway
// (rule.Holdable).
func readForHold(ctx context.Context, client *ent.Client, v *auth.Viewer, unitID, customerID pulid.ID) (*ent.Unit, error) {
	u, err := client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).
		Modify(func(s *sql.Selector) {
			p := sql.Table(project.Table)
			s.LeftJoin(p).On(s.C(unit.FieldProjectID), p.C(project.FieldID)).
				AppendSelectAs(p.C(project.FieldHoldMinutes), projectHoldMinutes)
			s.AppendSelectExprAs(sql.Exists(customerOfInSelect(s, v.UserID, customerID)), customerIsCallers)
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
	return u, nil
}

// holdRefused says why a hold changed no unit: a unit the caller cannot
// see (NOT_FOUND), a customer not theirs, their holds at the cap, or a unit
// not available. read is the unit as read before the hold, if it was.
func holdRefused(ctx context.Context, client *ent.Client, v *auth.Viewer, unitID, customerID pulid.ID, read *ent.Unit) error {
	if read == nil {
		if _, err := readForHold(ctx, client, v, unitID, customerID); err != nil {
			return err
		}
	}
	held, err := rule.LiveHolds(ctx, client)
	if err != nil {
		return err
	}
	if held >= MaxHolds {
		return apperr.New(apperr.Conflict, "you already hold %d units; release one first", MaxHolds)
	}
	return apperr.New(apperr.Conflict, "the unit is not available")
}

// holdMinutes is how long a hold of the unit read by readForHold lasts, in
// minutes: its project's setting, 30 when the project has none.
func holdMinutes(u *ent.Unit) int {
	if m, err := rule.Selected[int](u.Value(projectHoldMinutes)); err == nil && m != nil {
		return *m
	}
	return defaultHoldMinutes
}

// defaultHoldMinutes is a hold's length in a project that sets none.
const defaultHoldMinutes = 30

// expiresAfterHoldMinutes sets a hold's expiry in the UPDATE itself
// (PostgreSQL): now plus the unit's project's hold minutes, which no read
// before the UPDATE then needs to fetch.
func expiresAfterHoldMinutes(now time.Time) func(*sql.UpdateBuilder) {
	return func(u *sql.UpdateBuilder) {
		u.Set(unit.FieldHoldExpiresAt, sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString("CAST(").Arg(now.UTC()).WriteString(" AS timestamptz) + interval '1 minute' * COALESCE((SELECT ").
				Ident(project.FieldHoldMinutes).WriteString(" FROM ").Ident(project.Table).WriteString(" WHERE ").
				Ident(project.FieldID).WriteString(" = ").Ident(unit.Table).WriteByte('.').Ident(unit.FieldProjectID).
				WriteString("), " + strconv.Itoa(defaultHoldMinutes) + ")")
		}))
	}
}

// customerOfIn is true of a unit when customerID is a customer of the
// agent's in the unit's project: whom they may hold it for.
func customerOfIn(agentID, customerID pulid.ID) predicate.Unit {
	return func(s *sql.Selector) { s.Where(sql.Exists(customerOfInSelect(s, agentID, customerID))) }
}

// customerOfInSelect selects customerID if it is the agent's customer in
// the project of s's unit.
func customerOfInSelect(s *sql.Selector, agentID, customerID pulid.ID) *sql.Selector {
	c := sql.Table(customer.Table)
	return sql.Select(c.C(customer.FieldID)).From(c).Where(sql.And(
		sql.EQ(c.C(customer.FieldID), customerID),
		sql.ColumnsEQ(c.C(customer.FieldProjectID), s.C(unit.FieldProjectID)),
		sql.EQ(c.C(customer.FieldOwnerID), agentID)))
}

// unitProjects keeps each unit's project once read: project_id is
// immutable and ids are never reused, so an entry never goes stale (a
// deleted unit is one no update changes). Bounded: past it the least
// recently used go.
var unitProjects, _ = lru.New[pulid.ID, pulid.ID](1 << 16)

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
// hold in their projects). As HoldUnit: on PostgreSQL one statement, with
// a read only to say why it changed nothing.
func ReleaseHold(ctx context.Context, client *ent.Client, unitID pulid.ID, now time.Time) (*ent.Unit, error) {
	v, err := salesperson(ctx)
	if err != nil {
		return nil, err
	}
	projectID, known := unitProjects.Get(unitID)
	var read *ent.Unit
	if client.Dialect() != dialect.Postgres || !known {
		// A unit the caller cannot see is NOT_FOUND. As stored (see
		// readForHold): the UPDATE decides on the stored row
		// (rule.LiveHold).
		if read, err = client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).Only(ctx); err != nil {
			return nil, err
		}
		projectID = read.ProjectID
		unitProjects.Add(unitID, projectID)
	}
	q := client.Unit.Update().Where(unit.ID(unitID), rule.LiveHold(now))
	if v.Role == auth.RoleAgent {
		q.Where(unit.HeldByID(v.UserID))
	}
	q.SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().SetUpdatedAt(now)
	u, _, err := saveUnit(ctx, client, q, unitID, projectID, nil, func() *ent.Unit {
		if read != nil {
			read.Status, read.HeldByID, read.HeldForID, read.HoldExpiresAt, read.UpdatedAt = unit.StatusAVAILABLE, nil, nil, nil, now
		}
		return read
	})
	if err != nil {
		return nil, err
	}
	if u == nil {
		if read == nil { // a unit the caller cannot see is NOT_FOUND
			if _, err := client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).OnlyID(ctx); err != nil {
				return nil, err
			}
		}
		return nil, apperr.New(apperr.Conflict, "you hold no live hold on this unit")
	}
	return u, nil
}

// changeUnit saves upd, an update of at most the one unit unitID, of
// projectID: its change is announced from what the caller knows
// (live.Changing), and on PostgreSQL the hooks' rows (the listing's change
// line, the live event) ride on its statement (ride.Units).
func changeUnit(ctx context.Context, upd *ent.UnitUpdate, unitID, projectID pulid.ID) (int, error) {
	return upd.Save(ride.Units(live.Changing(ctx, unitID, projectID), upd))
}

// saveUnit is changeUnit returning the unit as upd left it, or nil if upd
// changed none; riders, if not nil, adds the caller's riders to the
// statement. On PostgreSQL the unit comes back from the update's own
// statement (ride's Read); elsewhere it is what known returns (what the
// caller read plus what it wrote), or if that is nil, read after the
// update. written reports whether the riders went out with the update's
// statement.
func saveUnit(ctx context.Context, client *ent.Client, upd *ent.UnitUpdate, unitID, projectID pulid.ID,
	riders func(*ride.Statement), known func() *ent.Unit) (u *ent.Unit, written bool, err error) {
	changing := ride.Units(live.Changing(ctx, unitID, projectID), upd)
	st := ride.From(changing)
	if riders != nil {
		riders(st)
	}
	var rows []*ent.Unit
	if client.Dialect() == dialect.Postgres {
		st.Read(func(r *sql.Rows) (int, error) {
			var err error
			rows, err = client.Unit.ScanRows(r)
			return len(rows), err
		})
	}
	n, err := upd.Save(changing)
	switch {
	case err != nil:
		return nil, false, err
	case n == 0:
		return nil, st.Written(), nil
	case st.Returned() && len(rows) == 1:
		return rows[0], st.Written(), nil
	}
	if u = known(); u != nil {
		return u, st.Written(), nil
	}
	u, err = client.Unit.Query().Where(unit.ID(unitID), rule.StoredReadsAgree()).Only(ctx)
	return u, st.Written(), err
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
