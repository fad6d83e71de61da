package database_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"estatecrm/database"
	"estatecrm/database/dbtest"
)

func TestOpenRefusesBadURLsInOneLine(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ name, url, want string }{
		{"unknown scheme", "mysql://root@localhost/db", "DATABASE_URL must start with"},
		{"unreachable", "postgres://estatecrm:s3cret@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := database.Open(ctx, tc.url, database.Pool{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error mentioning %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("the error leaks the password or spans lines: %q", err)
			}
		})
	}
}

func TestEmbeddedFileIsCreatedAndMigrated(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir() + "/data/estatecrm.db"
	db, err := database.Open(ctx, "sqlite:"+path, database.Pool{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no database file: %v", err)
	}
	var mode string
	if err := db.SQL.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	var n int
	if err := db.SQL.QueryRow("SELECT count(*) FROM units").Scan(&n); err != nil {
		t.Fatalf("the schema was not created: %v", err)
	}
}

// A migration that fails half-way must leave the database as it was: goose
// runs each file in a transaction, and PostgreSQL's DDL is transactional.
func TestFailedMigrationChangesNothing(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("versioned migrations are PostgreSQL's; set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t) // already at the latest version
	ctx := context.Background()
	bad := fstest.MapFS{"99990101000000_broken.sql": {Data: []byte(
		"-- +goose Up\nCREATE TABLE half_done (id int);\nALTER TABLE units ADD COLUMN half_done int;\nSELECT 1/0;\n-- +goose Down\n")}}
	p, err := goose.NewProvider(goose.DialectPostgres, db.SQL, bad, goose.WithAllowOutofOrder(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err == nil {
		t.Fatal("a failing migration reported success")
	}
	var exists bool
	db.SQL.QueryRow(`SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_name = 'half_done')
		OR EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'units' AND column_name = 'half_done')`).Scan(&exists)
	if exists {
		t.Fatal("the failed migration left part of its changes behind")
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil || len(status) == 0 || status[len(status)-1].State != goose.StateApplied {
		t.Fatalf("the committed migrations should all be applied: %v %v", status, err)
	}
}
