package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

// `server migrate` says what it did: on an empty PostgreSQL database it
// applied every migration (it used to say the schema "is up to date" as if
// nothing had been needed), and run again it had nothing to do.
func TestMigrateSaysWhatItDid(t *testing.T) {
	migrate := func(dbURL string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), []string{"migrate"}, env(map[string]string{"DATABASE_URL": dbURL, "JWT_SECRET": testSecret}), &stdout, &stderr); err != nil {
			t.Fatalf("migrate: %v\n%s", err, stderr.String())
		}
		return stdout.String()
	}
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		out := migrate("sqlite:" + filepath.Join(t.TempDir(), "x.db"))
		if !strings.Contains(out, "SQLite schema created") {
			t.Fatalf("SQLite: %q", out)
		}
		return
	}
	admin, err := sql.Open("postgres", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	name := fmt.Sprintf("estatecrm_test_migrate_%d", time.Now().UnixNano())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last in, first out: the drop before the close above (a
	// deferred Close ran first and left every run's database behind).
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s: %v", name, err)
		}
	})
	u, _ := url.Parse(base)
	u.Path = "/" + name
	files, _ := filepath.Glob("../database/migrations/*.sql")
	if out := migrate(u.String()); !strings.Contains(out, fmt.Sprintf("applied %d migrations", len(files))) {
		t.Fatalf("an empty database took %d migrations, the output says %q", len(files), out)
	}
	if out := migrate(u.String()); !strings.Contains(out, "already up to date") {
		t.Fatalf("run again: %q", out)
	}
}
