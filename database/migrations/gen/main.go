// Command gen writes a new versioned PostgreSQL migration: the difference
// between the committed migrations and the ent schema. It replays the
// migrations on a scratch database (created and dropped here) on the server
// at DEV_DATABASE_URL (default: the local PostgreSQL).
//
//	go run ./database/migrations/gen add_units_index
//	go run ./database/migrations/gen -check   # fails if the schema has changes no migration holds
//	go run ./database/migrations/gen -rehash  # after hand-editing a migration (a data backfill): rewrite atlas.sum
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	atlas "ariga.io/atlas/sql/migrate"
	"ariga.io/atlas/sql/sqltool"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql/schema"
	_ "github.com/lib/pq"

	"estatecrm/ent/migrate"
)

func main() {
	check := flag.Bool("check", false, "only check that the migrations match the schema")
	rehash := flag.Bool("rehash", false, "rewrite atlas.sum after a migration was edited by hand")
	flag.Parse()
	name := flag.Arg(0)
	if *rehash {
		if err := rewriteSum(); err != nil {
			log.Fatal(err)
		}
		return
	}
	if name == "" && !*check {
		log.Fatal("usage: gen NAME | gen -check")
	}
	if err := run(context.Background(), name, *check); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, name string, check bool) error {
	base := os.Getenv("DEV_DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	scratch := fmt.Sprintf("estatecrm_migrate_%d", os.Getpid())
	admin, err := sql.Open("postgres", base)
	if err != nil {
		return err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		return fmt.Errorf("create scratch database: %w", err)
	}
	defer admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)")
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.Path = "/" + scratch

	src := dir()
	target := src
	if check {
		tmp, err := os.MkdirTemp("", "migrations")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := os.CopyFS(tmp, os.DirFS(src)); err != nil {
			return err
		}
		target, name = tmp, "check"
	}
	d, err := sqltool.NewGooseDir(target)
	if err != nil {
		return err
	}
	before, _ := d.Files()
	err = migrate.NamedDiff(ctx, u.String(), name,
		schema.WithDir(d),
		schema.WithMigrationMode(schema.ModeReplay),
		schema.WithDialect(dialect.Postgres),
		schema.WithFormatter(sqltool.GooseFormatter),
		schema.WithForeignKeys(true),
	)
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	after, _ := d.Files()
	if check && len(after) != len(before) {
		return fmt.Errorf("the ent schema has changes no migration holds: run `go run ./database/migrations/gen NAME` and commit the file")
	}
	if check {
		if err := atlas.Validate(d); err != nil {
			return fmt.Errorf("migrations directory: %w", err)
		}
		fmt.Println("migrations match the ent schema")
	}
	return nil
}

// dir is database/migrations, found from this file so the command works from any directory.
func dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

// rewriteSum records the checksums of the migration files as they are now.
func rewriteSum() error {
	d, err := sqltool.NewGooseDir(dir())
	if err != nil {
		return err
	}
	sum, err := d.Checksum()
	if err != nil {
		return err
	}
	return atlas.WriteSumFile(d, sum)
}
