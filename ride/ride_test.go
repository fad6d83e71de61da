package ride

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// update is an UPDATE of units as ent builds one, with a parameter in its
// SET and its WHERE.
func update() *sql.UpdateBuilder {
	return sql.Dialect(dialect.Postgres).Update("units").Set("status", "HELD").Where(sql.EQ("id", "UN1"))
}

// With no rider the update is left as it is.
func TestNoRiderLeavesTheUpdate(t *testing.T) {
	s := &Statement{}
	u := update()
	want, _ := update().Query()
	s.modify(u)
	if got, _ := u.Query(); got != want || !s.Written() {
		t.Fatalf("got %q (written %v), want %q", got, s.Written(), want)
	}
}

// Riders' heads come before the update, with their parameters numbered
// first; the update becomes the Changed CTE returning the columns they
// read; their tails follow; the statement's rows are the update's.
func TestRidersWrapTheUpdate(t *testing.T) {
	s := &Statement{}
	head := sql.ExprFunc(func(b *sql.Builder) { b.WriteString("a_in (v) AS (VALUES (").Arg(7).WriteString("))") })
	if !s.Add(head, "a AS (INSERT INTO a SELECT v, c.project_id FROM a_in, changed c)", "project_id") ||
		!s.Add(nil, "b AS (SELECT status FROM changed)", "status", "project_id") {
		t.Fatal("a rider was refused before the statement was written")
	}
	u := update()
	s.modify(u)
	got, args := u.Query()
	want := `WITH a_in (v) AS (VALUES ($1)), changed AS ( UPDATE "units" SET "status" = $2 WHERE "id" = $3 RETURNING "id", "project_id", "status"),
a AS (INSERT INTO a SELECT v, c.project_id FROM a_in, changed c),
b AS (SELECT status FROM changed)
SELECT 1 FROM changed`
	if got != want || len(args) != 3 || args[0] != 7 || args[1] != "HELD" || args[2] != "UN1" {
		t.Fatalf("got %q %v, want %q [7 HELD UN1]", got, args, want)
	}
	if s.Add(nil, "late AS (SELECT 1)") || strings.Contains(got, "late") {
		t.Fatal("a rider added after the statement was written was taken")
	}
}

// A statement that asks for its rows back returns every column of the
// changed units, with or without riders, and hands its read to the one Exec
// that follows its writing (Reading), once; on SQLite, where no update is
// a CTE, it is left as it is and nothing is handed over.
func TestReadReturnsTheChangedRows(t *testing.T) {
	read := func(*sql.Rows) (int, error) { return 0, nil }
	for _, c := range []struct {
		name  string
		rider bool
		want  string
	}{
		{"alone", false, `WITH changed AS ( UPDATE "units" SET "status" = $1 WHERE "id" = $2 RETURNING "units".*)
SELECT * FROM changed`},
		{"with a rider", true, `WITH changed AS ( UPDATE "units" SET "status" = $1 WHERE "id" = $2 RETURNING "units".*),
b AS (SELECT status FROM changed)
SELECT * FROM changed`},
	} {
		s := &Statement{}
		ctx := context.WithValue(context.Background(), key{}, s)
		if c.rider {
			s.Add(nil, "b AS (SELECT status FROM changed)", "status")
		}
		s.Read(read)
		if Reading(ctx) != nil {
			t.Fatalf("%s: a read was handed over before the statement was written", c.name)
		}
		u := update()
		s.modify(u)
		if got, _ := u.Query(); got != c.want {
			t.Fatalf("%s: got %q, want %q", c.name, got, c.want)
		}
		if s.Returned() || Reading(ctx) == nil || !s.Returned() || Reading(ctx) != nil {
			t.Fatalf("%s: the read was not handed over exactly once", c.name)
		}
	}
	s := &Statement{}
	ctx := context.WithValue(context.Background(), key{}, s)
	s.Read(read)
	u := sql.Dialect(dialect.SQLite).Update("units").Set("status", "HELD").Where(sql.EQ("id", "UN1"))
	want, _ := sql.Dialect(dialect.SQLite).Update("units").Set("status", "HELD").Where(sql.EQ("id", "UN1")).Query()
	s.modify(u)
	if got, _ := u.Query(); got != want || Reading(ctx) != nil || s.Returned() {
		t.Fatalf("SQLite: got %q, want %q and no read handed over", got, want)
	}
}

// OnChange puts the heads first, each a CTE of its own with its
// parameters numbered first, and ends the statement in require_changed of
// the update's count of rows.
func TestOnChangeRequiresTheUpdate(t *testing.T) {
	ins := func(v int) sql.Querier {
		return sql.Dialect(dialect.Postgres).Insert("visits").Columns("n").Values(v)
	}
	u := update()
	OnChange([]sql.Querier{ins(1), ins(2)})(u)
	got, args := u.Query()
	want := `WITH w0 AS (INSERT INTO "visits" ("n") VALUES ($1)), w1 AS (INSERT INTO "visits" ("n") VALUES ($2)), changed AS ( UPDATE "units" SET "status" = $3 WHERE "id" = $4 RETURNING "id")
SELECT require_changed(count(*)) FROM changed`
	if got != want || len(args) != 4 || args[0] != 1 || args[1] != 2 || args[2] != "HELD" || args[3] != "UN1" {
		t.Fatalf("got %q %v, want %q [1 2 HELD UN1]", got, args, want)
	}
}

// NoneChanged tells require_changed's error from the others.
func TestNoneChangedIsNoDataFound(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("ent: %w", sqlState("P0002")), true},
		{sqlState("23514"), false},
		{errors.New("P0002"), false},
		{nil, false},
	} {
		if got := NoneChanged(c.err); got != c.want {
			t.Errorf("NoneChanged(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

type sqlState string

func (s sqlState) Error() string    { return "pq: " + string(s) }
func (s sqlState) SQLState() string { return string(s) }
