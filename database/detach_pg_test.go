package database_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/lib/pq"

	"estatecrm/database"
	"estatecrm/database/dbtest"
)

// A statement whose request runs out of time is still cancelled on the
// server: lib/pq gets the caller's context back from the detached one.
func TestPostgresStatementCancelledWhenItsContextEnds(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	db, err := database.Open(context.Background(), dbtest.Open(t).URL, database.Pool{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"query", func(ctx context.Context) error {
			var rows sql.Rows
			if err := db.Driver.Query(ctx, "SELECT pg_sleep($1)", []any{30}, &rows); err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}},
		{"exec", func(ctx context.Context) error {
			return db.Driver.Exec(ctx, "SELECT pg_sleep($1)", []any{30}, nil)
		}},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := tc.run(ctx)
		cancel()
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "57014" {
			t.Errorf("%s: a 30 s sleep with a 200 ms deadline: got %v, want PostgreSQL's query_canceled (57014)", tc.name, err)
		}
	}
	// The pool still answers: the cancelled connections were dropped.
	var rows sql.Rows
	if err := db.Driver.Query(context.Background(), "SELECT 1", []any{}, &rows); err != nil {
		t.Fatal(err)
	}
	rows.Close()
}
