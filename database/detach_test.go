package database

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
)

// ctxDriver records the context each statement reached it with.
type ctxDriver struct {
	dialect.Driver
	got []context.Context
}

func (d *ctxDriver) Exec(ctx context.Context, _ string, _, _ any) error {
	d.got = append(d.got, ctx)
	return nil
}

func (d *ctxDriver) Query(ctx context.Context, _ string, _, _ any) error {
	d.got = append(d.got, ctx)
	return nil
}

// On PostgreSQL a statement outside a transaction reaches database/sql
// with a context it cannot see end (so database/sql starts no goroutine to
// watch it), carrying the caller's, which pgConn hands to lib/pq; on SQLite
// the caller's context goes through as it is.
func TestStatementsReachThePoolDetached(t *testing.T) {
	for _, detached := range []bool{true, false} {
		drv := &ctxDriver{}
		d := fifo(drv, 1, detached).(*fifoDriver)
		ctx, cancel := context.WithCancel(context.Background())
		if err := d.Exec(ctx, "UPDATE t SET x = 1", []any{}, nil); err != nil {
			t.Fatal(err)
		}
		if err := d.Query(ctx, "SELECT 1", []any{}, &sql.Rows{}); err != nil {
			t.Fatal(err)
		}
		cancel()
		for i, got := range drv.got {
			switch {
			case detached && got.Done() != nil:
				t.Errorf("statement %d: database/sql got a context that can end", i)
			case detached && caller(got) != ctx:
				t.Errorf("statement %d: the caller's context is not carried for lib/pq", i)
			case !detached && got != ctx:
				t.Errorf("statement %d (not detached): got another context than the caller's", i)
			}
		}
	}
}
