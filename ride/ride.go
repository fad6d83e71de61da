// Package ride lets the rows that an update entails ride on the update's
// own statement on PostgreSQL: the update becomes a data-modifying CTE, so
// that they are written with it, in one round trip.
//
// For an update of units (a listing's change line, a live event, a hold's
// record, which hooks and callers write), the other rows read the update's
// RETURNING rows, so that each is written for the rows the update changed
// and for no other (a conditional update that lost a race writes nothing).
// The caller of the update makes its statement ridable (Units); a hook or
// the caller adds a rider (Statement.Add) before the update runs and, once
// it has run, asks whether the rider was written (Statement.Written). A
// rider that was not (SQLite, where nothing rides; an update that ent ran
// otherwise) is for its author to write by a statement of its own.
//
// The caller may also ask for the changed rows back (Statement.Read): every
// column of each unit as the update left it, in the same statement, instead
// of a read before or after it. The driver that runs the update hands them
// over (Reading).
//
// For an update of one row of any table that other rows go with (a visit
// with its customer's update), OnChange makes the statement fail unless the
// update changed its row.
package ride

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/ent"
	"estatecrm/ent/unit"
)

// Changed is the name of the CTE of the update, whose rows are the units
// it changed, as they are after the change (RETURNING): what a rider's
// tail reads.
const Changed = "changed"

// Statement is the statement of one update of units that riders may join.
type Statement struct {
	mu        sync.Mutex
	heads     []sql.Querier
	tails     []string
	returning []string
	written   bool
	// read, if set, takes the changed rows; armed: the statement asks for
	// them and the next Exec under its context is its own; returned: read
	// took them.
	read            func(*sql.Rows) (int, error)
	armed, returned bool
}

type key struct{}

// Units makes the statement of upd ridable: the context it returns, passed
// to upd's Save or Exec, carries it to the hooks (From). Nothing changes
// until a rider is added.
func Units(ctx context.Context, upd *ent.UnitUpdate) context.Context {
	s := &Statement{}
	upd.Modify(s.modify)
	return context.WithValue(ctx, key{}, s)
}

// From returns the ridable statement of the update that ctx is for, or nil.
func From(ctx context.Context) *Statement {
	s, _ := ctx.Value(key{}).(*Statement)
	return s
}

// Add joins a rider to the statement (PostgreSQL only): head, if not nil,
// is a list of CTEs written before the update (the only part that may
// carry bind parameters: the statement's text after the update's is
// written without them), tail a list of CTEs written after it, which read
// the Changed rows and the head's CTEs, and returning the columns of
// units the tail reads from Changed (id is always there). The names of
// the CTEs are the rider's to keep apart from the others'. It reports
// false when the statement has been written already: the rider then
// writes its rows itself.
func (s *Statement) Add(head sql.Querier, tail string, returning ...string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.written {
		return false
	}
	if head != nil {
		s.heads = append(s.heads, head)
	}
	s.tails = append(s.tails, tail)
	for _, c := range returning {
		if !slices.Contains(s.returning, c) {
			s.returning = append(s.returning, c)
		}
	}
	return true
}

// Written reports whether the riders added so far went out with the
// update's statement: each then wrote its rows for the units the update
// changed, and nothing if it changed none.
func (s *Statement) Written() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.written
}

// Read asks for the rows the update changes, every column of units as the
// update leaves them, in its own statement (PostgreSQL): it ends in SELECT
// * FROM changed, which the driver runs as a query, handing its rows to
// read (which closes them and returns how many it read: the update's
// count). Returned says afterwards whether read got them; if not (SQLite,
// a driver that does not look for it), the caller reads the unit itself.
func (s *Statement) Read(read func(*sql.Rows) (int, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read = read
}

// Returned reports whether the update's rows went to the function given
// to Read.
func (s *Statement) Returned() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.returned
}

// Reading returns, once, the function that takes the rows of the update
// whose statement ctx carries, when that statement asks for them (Read)
// and has been written: ent writes an update's statement and runs it at
// once, so the next Exec under ctx is that update's. A driver's Exec that
// gets one runs the statement as a query and gives it the rows. Otherwise
// nil: the Exec is an Exec.
func Reading(ctx context.Context) func(*sql.Rows) (int, error) {
	s := From(ctx)
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.armed {
		return nil
	}
	s.armed, s.returned = false, true
	return s.read
}

// modify turns the update, once built with every predicate (ent runs the
// modifiers last), into
//
//	WITH <heads>, changed AS (UPDATE … RETURNING id, …), <tails> SELECT 1 FROM changed
//
// whose count of rows (the command tag's, which the driver reports as the
// rows affected) is the update's; when the caller asks for the rows back
// (Read), RETURNING and the last SELECT take every column.
func (s *Statement) modify(u *sql.UpdateBuilder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.written = true
	if u.Dialect() != dialect.Postgres {
		s.read = nil // no data-modifying CTE there: the caller reads
	}
	if len(s.tails) == 0 && s.read == nil {
		return
	}
	var rest strings.Builder
	if s.read != nil {
		s.armed = true
		rest.WriteString(`"` + unit.Table + `".*`)
	} else {
		rest.WriteString(`"id"`)
		for _, c := range s.returning {
			if c != "id" {
				rest.WriteString(`, "` + c + `"`)
			}
		}
	}
	rest.WriteString(")")
	for _, t := range s.tails {
		rest.WriteString(",\n" + t)
	}
	if s.read != nil {
		rest.WriteString("\nSELECT * FROM " + Changed)
	} else {
		rest.WriteString("\nSELECT 1 FROM " + Changed)
	}
	wrap(u, s.heads, rest.String())
}

// OnChange makes an update of one row (PostgreSQL) a data-modifying CTE
// after the statements heads (each made a CTE of its own: w0, w1, …), in a
// statement that fails unless the update changed its row: the function
// require_changed (migration 20261130140000_require_changed.sql) raises
// no_data_found (NoneChanged) when it changed none, taking the heads' rows
// with it, inside a transaction or not. The statement's count of rows is 1.
func OnChange(heads []sql.Querier) func(*sql.UpdateBuilder) {
	return func(u *sql.UpdateBuilder) {
		wrap(u, CTEs(heads), `"id")`+"\nSELECT require_changed(count(*)) FROM "+Changed)
	}
}

// CTEs makes each of stmts a CTE of its own, named w0, w1, … in order, for
// a WITH list: statements that go with another in its statement (OnChange's
// heads, sales' statements run as one) and whose rows nothing reads need a
// name only because SQL wants one.
func CTEs(stmts []sql.Querier) []sql.Querier {
	ctes := make([]sql.Querier, len(stmts))
	for i, q := range stmts {
		name := "w" + strconv.Itoa(i)
		ctes[i] = sql.ExprFunc(func(b *sql.Builder) {
			b.WriteString(name + " AS ").Wrap(func(b *sql.Builder) { b.Join(q) })
		})
	}
	return ctes
}

// NoneChanged reports whether err is an OnChange statement failing because
// its update changed no row (SQLSTATE no_data_found).
func NoneChanged(err error) bool {
	var e interface{ SQLState() string }
	return errors.As(err, &e) && e.SQLState() == "P0002"
}

// wrap turns u into
//
//	WITH <heads>, changed AS (UPDATE … RETURNING <rest>
//
// where rest ends the RETURNING list and the CTE and writes the rest of the
// statement. The RETURNING list is the one place ent writes after the
// update's WHERE: an entry already quoted is written as it is
// (sql.Builder.Ident), so the rest follows the last column. It holds no
// bind parameter (the heads carry them).
func wrap(u *sql.UpdateBuilder, heads []sql.Querier, rest string) {
	u.Prefix(sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("WITH ")
		for _, h := range heads {
			b.Join(h).WriteString(", ")
		}
		b.WriteString(Changed + " AS (")
	}))
	u.Returning(rest)
}
