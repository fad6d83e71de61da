package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net/url"
	"os"
	"strconv"

	"github.com/lib/pq"
)

// postgresDSN returns the connection URL the server uses for rawURL: with
// binary_parameters=yes unless the URL says otherwise. lib/pq sends every
// statement with parameters unnamed; without the option it first parses and
// describes it (a round trip to learn the parameter types), then binds and
// executes it (a second one). With it, parse, bind and execute go in one
// round trip, the server inferring the types (GOTCHAS 17, issue 10). pgConn
// then keeps statements prepared per connection, so repeats skip the parse.
//
// And with plan_cache_mode=force_generic_plan (a setting lib/pq sends at
// connect) unless the URL sets it: a prepared statement is planned once per
// connection, not on every run. Left to choose (auto), PostgreSQL keeps
// planning a statement afresh for each run while the generic plan's
// estimate is dearer than the runs' own, which for the phone lookup (a
// customer by phone suffix with their visits, three subqueries) was always:
// planning was 60% of PostgreSQL's CPU for it, 0.43 ms a lookup against
// 0.18 ms with the generic plan. A generic plan is made without the
// values, so it cannot count on a rare value (a status of HELD) being
// rare: the plans of the hot requests are checked as generic plans
// (TestHotFiltersUseIndexes, TestAsReadUnitsUseIndexes in cmd/bench), and
// plan_cache_mode=auto in DATABASE_URL restores PostgreSQL's choice.
//
// And with connect_timeout=5 (seconds) unless the URL sets it: lib/pq's
// default is no limit, and database/sql opens connections for waiting
// statements in a goroutine of its own, with no deadline; a statement
// outside a transaction also waits for one without its request's deadline
// (detach.go). A database that drops packets would hold them until the
// operating system gave up on the connection (minutes); this way they get
// an error within seconds and the client's retry is not stuck.
func postgresDSN(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", err
	}
	q := u.Query()
	if !q.Has("binary_parameters") {
		q.Set("binary_parameters", "yes")
	}
	if !q.Has("plan_cache_mode") {
		q.Set("plan_cache_mode", "force_generic_plan")
	}
	if !q.Has("connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		q.Set("connect_timeout", "5")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// openPostgres opens a pool whose connections send JSON documents as text
// and keep their statements prepared (pgConn). The URL parameter
// statement_cache_capacity (pgx's name for it) sets how many per
// connection; 0 prepares none, for a pooler that hands each transaction a
// different server connection (PgBouncer in transaction mode), where named
// statements do not survive. lib/pq does not know the parameter (it would
// send it to the server as a setting), so it is taken out.
func openPostgres(dsn string) (*sql.DB, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	max := maxCachedStatements
	if q.Has("statement_cache_capacity") {
		max, err = strconv.Atoi(q.Get("statement_cache_capacity"))
		if err != nil || max < 0 {
			return nil, errors.New("statement_cache_capacity must be a number of statements, 0 for none")
		}
		q.Del("statement_cache_capacity")
		u.RawQuery = q.Encode()
		dsn = u.String()
	}
	return openPostgresCaching(dsn, max)
}

// openPostgresCaching is openPostgres keeping at most max statements
// prepared per connection (0: none, as lib/pq alone).
func openPostgresCaching(dsn string, max int) (*sql.DB, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(pgConnector{c, max}), nil
}

// pgConnector is lib/pq whose connections are wrapped in pgConn.
type pgConnector struct {
	*pq.Connector
	max int
}

// Connect dials with the caller's context (detach.go), so that a dial that
// hangs ends with the request.
func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(caller(ctx))
	if err != nil {
		return nil, err
	}
	return newPGConn(cn, c.max), nil
}
