// Package dbtest gives each test a database of its own, migrated the way
// production is: an in-memory SQLite by default; with TEST_DATABASE_URL set,
// a fresh PostgreSQL database created on that server, migrated by the
// committed migrations and dropped when the test ends.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/database"
)

var seq atomic.Int64

// OnPostgres reports whether tests run on PostgreSQL.
func OnPostgres() bool { return os.Getenv("TEST_DATABASE_URL") != "" }

// Open returns a new, migrated, empty database for t.
func Open(t testing.TB) *database.DB {
	t.Helper()
	ctx := context.Background()
	rawURL := newDatabase(t)
	db, err := database.Open(ctx, rawURL, database.Pool{MaxOpen: 20, MaxIdle: 20})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// newDatabase returns the URL of a database no other test uses.
func newDatabase(t testing.TB) string {
	name := fmt.Sprintf("t%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, seq.Add(1))
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		// A named shared-cache memory database: plain :memory: would give each
		// pooled connection its own empty database.
		return "file:" + name + "?mode=memory&cache=shared&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_txlock=immediate"
	}
	name = "estatecrm_test_" + name
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database (is PostgreSQL at TEST_DATABASE_URL up?): %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("postgres", base)
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	if !strings.Contains(u.RawQuery, "sslmode") {
		q := u.Query()
		q.Set("sslmode", "disable")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
