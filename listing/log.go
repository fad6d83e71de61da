// Package listing is what listing portals read: the listings projection
// (published units of published projects, public fields only) and the change
// log that lets a portal keep an exact copy of it (listingChanges).
//
// Every change that affects a listing writes a line of the log in its own
// transaction, from the ent hooks of units, buildings and projects (UnitHook,
// BuildingHook, ProjectHook), so that no code path that changes a unit can
// forget it. A line is an event of the one outbox (package outbox, class
// outbox.Listings), numbered with every other event by outbox.Sequence only
// once its transaction has committed: a poller that reads lines after its
// cursor in sequence order never skips one that committed late. Webhook
// deliveries are filled from the same lines (package webhook).
package listing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/clock"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/hook"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/live"
	"estatecrm/outbox"
	"estatecrm/ride"
)

// The kinds of a change line.
const (
	Upsert = "UPSERT"
	Remove = "REMOVE"
)

// onPortal is the SQL condition of a listing: a published unit, not
// withdrawn, of a published project (rule.PublishedUnit), on units u and
// projects p.
const onPortal = "(u.published AND u.status <> 'WITHDRAWN' AND p.published)"

// UnitHook logs the units a mutation changes. A unit on the portals after
// the change gets an UPSERT; one the change took off them (unpublished,
// withdrawn) a REMOVE; a unit off the portals before and after gets none.
//
// On PostgreSQL the line is written with the unit's project and building
// rows locked FOR SHARE, which a change of the project or building (which
// logs the project's or building's units, ProjectHook, BuildingHook) waits
// for and which waits for such a change: whichever commits second sees the
// other's state, so no change of a listing goes unlogged.
func UnitHook(next ent.Mutator) ent.Mutator {
	return hook.UnitFunc(func(ctx context.Context, m *ent.UnitMutation) (ent.Value, error) {
		hide := false
		if p, ok := m.Published(); ok && !p {
			hide = true
		}
		if s, ok := m.Status(); ok && s == unit.StatusWITHDRAWN {
			hide = true
		}
		switch {
		case m.Op().Is(ent.OpCreate):
			v, err := next.Mutate(ctx, m)
			if p, _ := m.Published(); err != nil || !p {
				return v, err // a new unit is unpublished unless said otherwise
			}
			return v, logUnits(ctx, m.Client(), []pulid.ID{v.(*ent.Unit).ID}, false, takeEvent(ctx, m))
		case m.Op().Is(ent.OpUpdateOne):
			id, _ := m.ID()
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			return v, logUnits(ctx, m.Client(), []pulid.ID{id}, hide, takeEvent(ctx, m))
		case m.Op().Is(ent.OpUpdate):
			var ids []pulid.ID
			var rider *unitRider
			if id, ok := live.ChangingUnit(ctx); ok {
				ids = []pulid.ID{id} // the caller's promise: that unit at most
				rider = rideUnit(ctx, m, hide)
			} else {
				var err error
				if ids, err = m.IDs(privacy.DecisionContext(ctx, privacy.Allow)); err != nil {
					return nil, err
				}
				// The update touches no other rows than those logged, even
				// one that came to match its conditions meanwhile.
				if len(ids) == 0 {
					m.Where(func(s *sql.Selector) { s.Where(sql.False()) })
				} else {
					m.Where(unit.IDIn(ids...))
				}
			}
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			if n, _ := v.(int); n == 0 || len(ids) == 0 || rider.wrote() {
				return v, nil
			}
			return v, logUnits(ctx, m.Client(), ids, hide, rider.event(ctx, m))
		case m.Op().Is(ent.OpDelete | ent.OpDeleteOne):
			ids, err := m.IDs(privacy.DecisionContext(ctx, privacy.Allow))
			if err != nil {
				return nil, err
			}
			// Logged before the rows go: a REMOVE for those on the portals.
			if err := logRemoved(ctx, m.Client(), ids); err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		}
		return next.Mutate(ctx, m)
	})
}

// ProjectHook logs the listings of a project that changes: an UPSERT for
// each of its units on the portals, or, when the project is unpublished, a
// REMOVE for each that was on them. Any change, not only of the fields a
// listing shows: it moves the listings' modifiedAt (the project's
// updated_at is one of its terms), which the portal's copy must follow.
func ProjectHook(next ent.Mutator) ent.Mutator {
	return hook.ProjectFunc(func(ctx context.Context, m *ent.ProjectMutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
			return next.Mutate(ctx, m)
		}
		ids, err := m.IDs(privacy.DecisionContext(ctx, privacy.Allow))
		if err != nil || len(ids) == 0 {
			if err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		}
		if m.Op().Is(ent.OpUpdate) {
			m.Where(project.IDIn(ids...))
		}
		publishing, setsPublished := m.Published()
		wasPublished := true
		if setsPublished && m.Op().Is(ent.OpUpdateOne) {
			// Publishing a published project, or unpublishing an
			// unpublished one, changes no listing.
			if wasPublished, err = m.OldPublished(ctx); err != nil {
				return nil, err
			}
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		if n, ok := v.(int); ok && n == 0 {
			return v, nil
		}
		if setsPublished && !publishing && !wasPublished {
			return v, nil
		}
		// The project rows are locked by the update: a unit's change
		// waits for this transaction (UnitHook's FOR SHARE), or this read
		// sees its commit.
		// An unpublished project that stays so (a draft's edit) is on no
		// portal: its units get no line, REMOVE or other, naming them.
		onSomePortal := "u.published AND u.status <> 'WITHDRAWN'"
		if !setsPublished {
			onSomePortal += " AND p.published"
		}
		return v, insertLines(ctx, m.Client(), "u.project_id", ids,
			"CASE WHEN p.published THEN 'UPSERT' ELSE 'REMOVE' END", onSomePortal)
	})
}

// BuildingHook logs the listings of a building that changes (its name, or
// its updated_at, which is a term of their modifiedAt).
func BuildingHook(next ent.Mutator) ent.Mutator {
	return hook.BuildingFunc(func(ctx context.Context, m *ent.BuildingMutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
			return next.Mutate(ctx, m)
		}
		ids, err := m.IDs(privacy.DecisionContext(ctx, privacy.Allow))
		if err != nil || len(ids) == 0 {
			if err != nil {
				return nil, err
			}
			return next.Mutate(ctx, m)
		}
		if m.Op().Is(ent.OpUpdate) {
			m.Where(building.IDIn(ids...))
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		if n, ok := v.(int); ok && n == 0 {
			return v, nil
		}
		return v, insertLines(ctx, m.Client(), "u.building_id", ids, "'UPSERT'", onPortal)
	})
}

// logUnits writes the lines of units ids after their change: UPSERT for
// those on the portals, REMOVE for those of a published project that the
// change hid (hide), nothing for the others.
//
// On PostgreSQL, when the live status hook left the change's outbox event
// to it (ev, from live.TakeEvent: a unit's change of status, which every
// hold, release, reservation and sale is), the same statement writes it:
// the line and the event are rows of one INSERT into the outbox (UNION
// ALL). One round trip for both, in the transaction of the change.
func logUnits(ctx context.Context, c *ent.Client, ids []pulid.ID, hide bool, ev *live.Event) error {
	pg := c.Dialect() == dialect.Postgres
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), chunkSize)]
		ids = ids[len(chunk):]
		a := args{pg: pg}
		at, h := a.add(clock.Now(ctx)), a.add(hide)
		lock := ""
		if pg {
			// Locked whether or not the line is kept: a row filtered
			// out by a WHERE is neither locked nor waited for.
			lock = " FOR SHARE OF p, b"
			at = "CAST(" + at + " AS timestamptz)"
			h = "CAST(" + h + " AS boolean)"
		}
		rows := lineRows("units", h) + `
  WHERE u.id IN (` + a.list(chunk) + `)` + lock
		topic, payload := lineColumns(pg, "id", "project_id")
		q := insertLine + `
SELECT ` + topic + `, kind, ` + payload + `, ` + at + ` FROM (` + rows + `) x WHERE keep = 1`
		if pg {
			// Materialized: its rows are locked, and a row whose project
			// changed meanwhile read again once locked, before the filter
			// (which, pushed into an inlined subquery, would drop the row
			// on the project's old version, unlocked).
			q = `WITH x AS MATERIALIZED (` + rows + `)
` + insertLine + `
SELECT ` + topic + `, kind, ` + payload + `, ` + at + ` FROM x WHERE keep = 1`
			if ev != nil {
				// The unit's live event, one more row of the same INSERT.
				q += `
UNION ALL SELECT CAST(` + a.add(ev.Topic) + ` AS text), CAST(` + a.add(ev.Kind) + ` AS text), CAST(` +
					a.add(ev.Payload) + ` AS text), CAST(` + a.add(ev.At) + ` AS timestamptz)`
				ev = nil // in the first chunk's statement only
			}
		}
		if _, err := c.ExecContext(ctx, q, a.vals...); err != nil {
			return fmt.Errorf("listing: log units: %w", err)
		}
	}
	return nil
}

// lineRows is the SQL of the rows a line is made of, for each unit u of
// units (a table or a CTE with the columns of units it reads) with its
// project p and building b: the unit's and project's ids, the line's kind
// (UPSERT or REMOVE) and whether it is kept (1: on the portals, or a
// REMOVE of a unit the change hid, the SQL boolean hide, from a published
// project).
func lineRows(units, hide string) string {
	return `SELECT u.id AS id, u.project_id AS project_id,
    CASE WHEN ` + onPortal + ` THEN 'UPSERT' ELSE 'REMOVE' END AS kind,
    CASE WHEN ` + onPortal + ` OR (` + hide + ` AND p.published) THEN 1 ELSE 0 END AS keep
  FROM ` + units + ` u JOIN projects p ON p.id = u.project_id JOIN buildings b ON b.id = u.building_id`
}

// takeEvent is the live event of m's change of status that the status
// hook left to the line's statement (live.TakeEvent), if any.
func takeEvent(ctx context.Context, m ent.Mutation) *live.Event {
	if ev, ok := live.TakeEvent(ctx, m); ok {
		return &ev
	}
	return nil
}

// unitRider is the line of an update of one unit (and the live event of
// its change of status, when the status hook left it to the line) riding
// on the update's statement (package ride).
type unitRider struct {
	st *ride.Statement
	ev *live.Event
}

// rideUnit adds the line of m, an update of at most one unit (named by
// live.Changing), to m's statement when it is ridable (PostgreSQL, and the
// caller made it so: ride.Units), with m's live event if the status hook
// left it: the line is then written with the update, for the unit it
// changes, its project and building locked FOR SHARE as logUnits does.
// It returns nil when the statement is not ridable.
func rideUnit(ctx context.Context, m *ent.UnitMutation, hide bool) *unitRider {
	st := ride.From(ctx)
	if st == nil || m.Client().Dialect() != dialect.Postgres {
		return nil
	}
	r := &unitRider{st: st, ev: takeEvent(ctx, m)}
	at, ev := clock.Now(ctx).UTC(), r.ev
	head := sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("listing_in (at, hide) AS (VALUES (CAST(").Arg(at).WriteString(" AS timestamptz), CAST(").
			Arg(hide).WriteString(" AS boolean)))")
		if ev != nil {
			b.WriteString(", listing_event (topic, kind, payload, at) AS (VALUES (CAST(").Arg(ev.Topic).
				WriteString(" AS text), CAST(").Arg(ev.Kind).WriteString(" AS text), CAST(").Arg(ev.Payload).
				WriteString(" AS text), CAST(").Arg(ev.At.UTC()).WriteString(" AS timestamptz)))")
		}
	})
	tail := riderTail
	if ev != nil {
		tail = riderTailWithEvent
	}
	if !st.Add(head, tail, unit.FieldProjectID, unit.FieldBuildingID, unit.FieldPublished, unit.FieldStatus) {
		r.st = nil // written already: the event goes with logUnits' line
	}
	return r
}

// The tails of rideUnit's rider, without and with the live event, written
// once: the line's rows materialized and locked as in logUnits, read from
// the update's RETURNING rows (the unit as changed, and only if it
// changed); the event's row for a changed unit.
var riderTail, riderTailWithEvent = unitRiderTail(false), unitRiderTail(true)

func unitRiderTail(event bool) string {
	topic, payload := lineColumns(true, "id", "project_id")
	tail := `listing_x AS MATERIALIZED (` + lineRows(ride.Changed, "(SELECT hide FROM listing_in)") + ` FOR SHARE OF p, b),
listing_out AS (` + insertLine + `
SELECT ` + topic + `, kind, ` + payload + `, (SELECT at FROM listing_in) FROM listing_x WHERE keep = 1`
	if event {
		tail += `
UNION ALL SELECT e.topic, e.kind, e.payload, e.at FROM listing_event e CROSS JOIN ` + ride.Changed
	}
	return tail + ")"
}

// wrote reports whether the line (and event) went out with the update.
func (r *unitRider) wrote() bool { return r != nil && r.st != nil && r.st.Written() }

// event is the live event to write with the line when it did not ride.
func (r *unitRider) event(ctx context.Context, m ent.Mutation) *live.Event {
	if r != nil {
		return r.ev
	}
	return takeEvent(ctx, m)
}

// logRemoved writes a REMOVE for each of units ids on the portals now.
func logRemoved(ctx context.Context, c *ent.Client, ids []pulid.ID) error {
	if len(ids) == 0 {
		return nil
	}
	return insertLines(ctx, c, "u.id", ids, "'REMOVE'", onPortal)
}

// insertLines writes a line of the given kind (an SQL expression on units u
// and projects p) for each unit whose column is one of ids and that meets
// cond.
func insertLines(ctx context.Context, c *ent.Client, column string, ids []pulid.ID, kind, cond string) error {
	pg := c.Dialect() == dialect.Postgres
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), chunkSize)]
		ids = ids[len(chunk):]
		a := args{pg: pg}
		at := a.add(clock.Now(ctx))
		if pg {
			at = "CAST(" + at + " AS timestamptz)"
		}
		topic, payload := lineColumns(pg, "u.id", "u.project_id")
		q := insertLine + `
SELECT ` + topic + `, ` + kind + `, ` + payload + `, ` + at + `
FROM units u JOIN projects p ON p.id = u.project_id
WHERE ` + column + ` IN (` + a.list(chunk) + `) AND ` + cond
		if _, err := c.ExecContext(ctx, q, a.vals...); err != nil {
			return fmt.Errorf("listing: log units: %w", err)
		}
	}
	return nil
}

// insertLine starts the statements that write lines: each is an event of
// the outbox (package outbox), of the listing's project's topic
// (outbox.ListingsPrefix and its id), of kind UPSERT or REMOVE, its payload
// the listing's and project's ids (Line), at the request's clock.
const insertLine = "INSERT INTO outbox_events (topic, kind, payload, at)"

// lineColumns is the SQL of a line's topic and payload, from the columns of
// the listing's id and its project's.
func lineColumns(pg bool, id, projectID string) (topic, payload string) {
	topic = "'" + outbox.ListingsPrefix + "' || " + projectID
	if pg {
		return topic, "json_build_object('listingId', " + id + ", 'projectId', " + projectID + ")::text"
	}
	return topic, "json_object('listingId', " + id + ", 'projectId', " + projectID + ")"
}

// chunkSize bounds the ids of one statement (SQLite's and PostgreSQL's
// limits on bind parameters: GOTCHAS.md 21).
const chunkSize = 500

// args collects the bind parameters of a statement written by hand.
type args struct {
	pg   bool
	vals []any
}

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	if t, ok := v.(time.Time); ok {
		v = t.UTC()
	}
	a.vals = append(a.vals, v)
	if a.pg {
		return fmt.Sprintf("$%d", len(a.vals))
	}
	return "?"
}

// list appends ids and returns their placeholders, comma-separated.
func (a *args) list(ids []pulid.ID) string {
	ps := make([]string, len(ids))
	for i, id := range ids {
		ps[i] = a.add(string(id))
	}
	return strings.Join(ps, ", ")
}
