package database

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"entgo.io/ent/dialect"
	"github.com/pressly/goose/v3"

	"estatecrm/ent"
	"estatecrm/ent/migrate"
)

// migrations are the versioned PostgreSQL migrations, generated from the ent
// schema by `go run ./database/migrations/gen NAME` and committed.
//
//go:embed migrations/*.sql
var migrations embed.FS

// Migrate brings the schema up to date. PostgreSQL applies the committed
// versioned migrations with goose, which records each applied version and
// runs each file in its own transaction. The embedded SQLite is migrated
// automatically from the ent schema, in one transaction.
func (d *DB) Migrate(ctx context.Context) error {
	_, err := d.MigrateUp(ctx)
	return err
}

// MigrateUp is Migrate reporting how many versioned migrations it applied:
// 0 when PostgreSQL was already up to date, -1 on SQLite, which has none.
func (d *DB) MigrateUp(ctx context.Context) (applied int, err error) {
	if d.Dialect != dialect.Postgres {
		// Past the line (fifo.go): ent's schema code asserts that a read's
		// rows are database/sql's, and nothing runs beside a migration.
		drv := d.Driver
		if f, ok := drv.(*fifoDriver); ok {
			drv = f.Driver
		}
		return -1, ent.NewClient(ent.Driver(drv)).Schema.Create(ctx, migrate.WithForeignKeys(true), migrate.WithDropIndex(true))
	}
	p, err := provider(d)
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("migrate: %w", err)
	}
	return len(results), nil
}

// MigrationStatus lists the PostgreSQL migrations and whether each is applied.
func (d *DB) MigrationStatus(ctx context.Context) ([]*goose.MigrationStatus, error) {
	p, err := provider(d)
	if err != nil {
		return nil, err
	}
	return p.Status(ctx)
}

func provider(d *DB) (*goose.Provider, error) {
	if d.Dialect != dialect.Postgres {
		return nil, fmt.Errorf("versioned migrations are for PostgreSQL; SQLite is migrated from the schema")
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, d.SQL, sub)
}
