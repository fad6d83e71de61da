// Package database opens the store behind estatecrm: an embedded SQLite file
// by default, PostgreSQL when DATABASE_URL says so. Both run the same code.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	_ "modernc.org/sqlite" // registers "sqlite"

	"estatecrm/ent"
	_ "estatecrm/ent/runtime" // hooks and privacy policies
	"estatecrm/rule"
	"estatecrm/tracing"
)

// DefaultSQLitePath is where `go run ./server` keeps its data with no configuration.
const DefaultSQLitePath = "data/estatecrm.db"

// DB is an open database.
type DB struct {
	// URL is what the database was opened with (LISTEN needs its own connection).
	URL     string
	SQL     *sql.DB
	Dialect string // dialect.SQLite or dialect.Postgres
	// Driver is what the ent client runs on; tests wrap it to count statements.
	Driver dialect.Driver
}

// DefaultMaxConns is the pool size when none is configured: four
// connections per processor the process may use. A statement keeps its
// connection while it waits on the network and on its commit's WAL flush,
// so a few per core keep the processors busy; more only run side by side
// in PostgreSQL, where they contend for the same hot pages (a project's
// units, the outbox's last pages) and the processors' time slices. With
// 50 phones holding and releasing units of one project on 2 cores, 8
// connections instead of 16 took holdUnit's slowest 1% from 55-70 ms to
// 47-53 ms and spent 10% less of PostgreSQL's processor time per hold,
// with reads unchanged (issue 10). At most 32: PostgreSQL's default
// max_connections is 100, shared by every process of the deployment.
func DefaultMaxConns() int { return min(4*runtime.GOMAXPROCS(0), 32) }

// Pool sizes the connection pool.
type Pool struct {
	MaxOpen int
	MaxIdle int
}

// Open opens the database named by rawURL and checks that it answers:
// "" or "sqlite:PATH" for an embedded file, "file:…" for a raw SQLite DSN,
// "postgres://…" for PostgreSQL.
func Open(ctx context.Context, rawURL string, pool Pool) (*DB, error) {
	driverName, dsn, dia, err := parse(rawURL)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	if driverName == "postgres" {
		db, err = openPostgres(dsn)
	} else {
		db, err = sql.Open(driverName, dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(rawURL), err)
	}
	if pool.MaxOpen > 0 {
		db.SetMaxOpenConns(pool.MaxOpen)
	}
	if pool.MaxIdle > 0 {
		db.SetMaxIdleConns(pool.MaxIdle)
	}
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s unreachable: %s", redact(rawURL), oneLine(err))
	}
	return &DB{URL: rawURL, SQL: db, Dialect: dia, Driver: fifo(entsql.OpenDB(dia, db), pool.MaxOpen, driverName == "postgres")}, nil
}

// Client returns an ent client over the database.
func (d *DB) Client() *ent.Client { return NewClient(d.Driver) }

// NewClient returns an ent client over drv with the interceptors every
// client that serves requests must have (the customers a request read,
// noted for its Customer.sameAs in one statement) and a span for each
// statement run under a traced request or job (tracing.Driver: under none it
// only looks at the context).
func NewClient(drv dialect.Driver) *ent.Client {
	c := ent.NewClient(ent.Driver(tracing.Driver(drv)))
	c.Customer.Intercept(rule.NoteCustomers())
	return c
}

// Close closes the database.
func (d *DB) Close() error { return d.SQL.Close() }

func parse(rawURL string) (driverName, dsn, dia string, err error) {
	switch {
	case rawURL == "":
		return sqliteFile(DefaultSQLitePath)
	case strings.HasPrefix(rawURL, "sqlite:"):
		return sqliteFile(strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//"))
	case strings.HasPrefix(rawURL, "file:"):
		return "sqlite", rawURL, dialect.SQLite, nil
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dsn, err := postgresDSN(rawURL)
		if err != nil {
			return "", "", "", errors.New("DATABASE_URL is not a valid postgres:// URL")
		}
		return "postgres", dsn, dialect.Postgres, nil
	default:
		return "", "", "", errors.New(`DATABASE_URL must start with postgres://, sqlite: or file:`)
	}
}

// sqliteFile returns the DSN of an embedded database file, creating its
// directory. WAL lets readers run beside the one writer; immediate
// transactions take the write lock up front so two writers wait for each
// other (busy_timeout) instead of failing on a lock upgrade.
func sqliteFile(path string) (string, string, string, error) {
	if path == "" {
		return "", "", "", errors.New("sqlite: needs a file path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", "", fmt.Errorf("create the data directory: %w", err)
	}
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	return "sqlite", dsn, dialect.SQLite, nil
}

// redact drops the password from a URL for messages and logs.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" || u.Scheme == "file" {
		return "(" + strings.SplitN(rawURL, "?", 2)[0] + ")"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}
