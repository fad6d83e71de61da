package database_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/lib/pq"

	"estatecrm/database"
	"estatecrm/database/dbtest"
)

// pgOne opens a fresh PostgreSQL test database through a counting proxy,
// with a pool of one connection so every statement shares its cache.
func pgOne(t *testing.T) (*sql.DB, *dbtest.Proxy) {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	d := dbtest.Open(t)
	proxy, url := dbtest.ProxyURL(t, d.URL)
	db, err := database.Open(context.Background(), url, database.Pool{MaxOpen: 1, MaxIdle: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.SQL.Exec(`CREATE TABLE scratch (id bigint PRIMARY KEY, name text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL.Exec(`INSERT INTO scratch VALUES (1, 'a'), (2, 'b'), (3, 'c')`); err != nil {
		t.Fatal(err)
	}
	return db.SQL, proxy
}

// rowsOf runs query and returns its rows as strings.
func rowsOf(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) [][]string {
	t.Helper()
	rows, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// preparedOnConn returns how many statements the session has prepared
// with text query, and how often they ran.
func preparedOnConn(t *testing.T, db *sql.DB, query string) (stmts, runs int) {
	t.Helper()
	// No parameters: this runs unprepared and does not count itself.
	q := fmt.Sprintf(`SELECT count(*), coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements WHERE statement = '%s'`,
		strings.ReplaceAll(query, "'", "''"))
	if err := db.QueryRow(q).Scan(&stmts, &runs); err != nil {
		t.Fatal(err)
	}
	return stmts, runs
}

// A statement runs parsed once per connection: the second run sends no
// Parse, in a transaction too, and answers the same.
func TestPostgresStatementParsedOncePerConnection(t *testing.T) {
	db, proxy := pgOne(t)
	const q = `SELECT id, name FROM scratch WHERE id >= $1 ORDER BY id`
	parses := proxy.Sent('P')
	first := rowsOf(t, db, q, 2)
	if got := proxy.Sent('P') - parses; got != 1 {
		t.Fatalf("first run: %d Parse messages, want 1", got)
	}
	parses = proxy.Sent('P')
	second := rowsOf(t, db, q, 2)
	if got := proxy.Sent('P') - parses; got != 0 {
		t.Fatalf("second run on the same connection: %d Parse messages, want 0", got)
	}
	if !reflect.DeepEqual(first, second) || len(first) != 2 || first[0][1] != "b" {
		t.Fatalf("results differ or are wrong: %v then %v", first, second)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	inTx := rowsOf(t, tx, q, 2)
	if _, err := tx.Exec(`UPDATE scratch SET name = $1 WHERE id = $2`, "B", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE scratch SET name = $1 WHERE id = $2`, "b", 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := proxy.Sent('P') - parses; got != 1 { // the UPDATE, once
		t.Fatalf("in a transaction: %d Parse messages, want 1 (the UPDATE's first run)", got)
	}
	if !reflect.DeepEqual(inTx, first) {
		t.Fatalf("in a transaction: %v, want %v", inTx, first)
	}
	if n, runs := preparedOnConn(t, db, q); n != 1 || runs != 3 {
		t.Fatalf("pg_prepared_statements: %d statements run %d times, want 1 run 3 times", n, runs)
	}
}

// After DDL changes what a prepared statement returns, PostgreSQL refuses
// it; outside a transaction it is prepared again and answers the new
// shape. Inside one the transaction has failed; the next run is fine.
func TestPostgresStatementReparedAfterDDL(t *testing.T) {
	db, proxy := pgOne(t)
	const q = `SELECT * FROM scratch WHERE id = $1`
	if got := rowsOf(t, db, q, 1); !reflect.DeepEqual(got, [][]string{{"1", "a"}}) {
		t.Fatalf("before: %v", got)
	}
	if _, err := db.Exec(`ALTER TABLE scratch ADD COLUMN extra int NOT NULL DEFAULT 7`); err != nil {
		t.Fatal(err)
	}
	parses := proxy.Sent('P')
	if got := rowsOf(t, db, q, 1); !reflect.DeepEqual(got, [][]string{{"1", "a", "7"}}) {
		t.Fatalf("after ADD COLUMN: %v", got)
	}
	if got := proxy.Sent('P') - parses; got != 1 {
		t.Fatalf("after ADD COLUMN: %d Parse messages, want 1 (prepared again)", got)
	}
	if n, _ := preparedOnConn(t, db, q); n != 1 {
		t.Fatalf("the stale statement was not closed: %d statements for the query", n)
	}

	// In a transaction the refusal aborts it.
	if _, err := db.Exec(`ALTER TABLE scratch ADD COLUMN more int NOT NULL DEFAULT 8`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Query(q, 1); err == nil || !strings.Contains(err.Error(), "cached plan must not change result type") {
		t.Fatalf("in a transaction after DDL: want PostgreSQL's refusal, got %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db, q, 1); !reflect.DeepEqual(got, [][]string{{"1", "a", "7", "8"}}) {
		t.Fatalf("after the failed transaction: %v", got)
	}
	if n, _ := preparedOnConn(t, db, q); n != 1 {
		t.Fatalf("the stale statement was not closed: %d statements for the query", n)
	}

	// Statements dropped behind the driver's back are prepared again.
	if _, err := db.Exec(`DEALLOCATE ALL`); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db, q, 2); !reflect.DeepEqual(got, [][]string{{"2", "b", "7", "8"}}) {
		t.Fatalf("after DEALLOCATE ALL: %v", got)
	}
	if _, err := db.Exec(`UPDATE scratch SET name = $1 WHERE id = $2`, "c", 3); err != nil {
		t.Fatal(err)
	}
}

// Each connection keeps at most 256 statements prepared.
func TestPostgresStatementCacheBounded(t *testing.T) {
	db, proxy := pgOne(t)
	const distinct = 300
	for i := range distinct {
		q := fmt.Sprintf(`SELECT name, %d FROM scratch WHERE id = $1`, i)
		if got := rowsOf(t, db, q, 1); got[0][1] != fmt.Sprint(i) {
			t.Fatalf("%s: %v", q, got)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pg_prepared_statements`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 256 {
		t.Fatalf("%d statements prepared on the connection after %d distinct ones, want 256", n, distinct)
	}
	// The most recent ones stay; the oldest were closed.
	parses := proxy.Sent('P')
	rowsOf(t, db, fmt.Sprintf(`SELECT name, %d FROM scratch WHERE id = $1`, distinct-1), 1)
	if proxy.Sent('P') != parses {
		t.Fatal("the most recent statement was not kept")
	}
	rowsOf(t, db, `SELECT name, 0 FROM scratch WHERE id = $1`, 1)
	if proxy.Sent('P') != parses+1 {
		t.Fatal("the oldest statement was kept")
	}
}

// What cannot or need not be prepared runs as before: statements without
// parameters (several in one string, SET, LISTEN, NOTIFY), COPY.
func TestPostgresUnpreparedStatementsRunAsBefore(t *testing.T) {
	db, proxy := pgOne(t)
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	parses := proxy.Sent('P')
	for _, q := range []string{
		`SET application_name = 'estatecrm-test'`,
		`LISTEN scratch_events`,
		`NOTIFY scratch_events, 'x'`,
		`UPDATE scratch SET name = name; SELECT 1`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if got := proxy.Sent('P') - parses; got != 0 {
		t.Fatalf("%d statements without parameters were parsed as prepared statements", got)
	}
	var app string
	if err := conn.QueryRowContext(ctx, `SELECT current_setting($1)`, "application_name").Scan(&app); err != nil || app != "estatecrm-test" {
		t.Fatalf("SET: %q, %v", app, err)
	}
	// Several statements with parameters fail as they did unprepared.
	if _, err := conn.ExecContext(ctx, `UPDATE scratch SET name = $1 WHERE id = 1; SELECT 1`, "z"); err == nil ||
		!strings.Contains(err.Error(), "cannot insert multiple commands") {
		t.Fatalf("several statements with parameters: %v", err)
	}
	conn.Close()
	// COPY goes through database/sql's Prepare, as the bulk loader does.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	st, err := tx.Prepare(pq.CopyIn("scratch", "id", "name"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int{10, 11} {
		if _, err := st.Exec(id, fmt.Sprint("copied", id)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.Exec(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db, `SELECT name FROM scratch WHERE id >= $1 ORDER BY id`, 10); !reflect.DeepEqual(got, [][]string{{"copied10"}, {"copied11"}}) {
		t.Fatalf("COPY: %v", got)
	}
	// A second query while a result set is open gets lib/pq's answer, not a
	// garbled connection.
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT id FROM scratch WHERE id > $1 ORDER BY id`, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows.Next()
	if _, err := tx.Query(`SELECT name FROM scratch WHERE id = $1`, 1); err == nil || !strings.Contains(err.Error(), "already a query") {
		t.Fatalf("a query while another's rows are open: %v", err)
	}
	rows.Close()
	if got := rowsOf(t, tx, `SELECT name FROM scratch WHERE id = $1`, 1); got[0][0] != "a" {
		t.Fatalf("after the rows closed: %v", got)
	}
}

// A connection that breaks under cached statements is discarded and the
// query retried on a new one, as database/sql does with lib/pq alone.
func TestPostgresStatementCacheBrokenConnection(t *testing.T) {
	db, proxy := pgOne(t)
	const q = `SELECT name FROM scratch WHERE id = $1`
	rowsOf(t, db, q, 1)
	proxy.Down()
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	// The first use finds the connection broken. database/sql retries on a
	// new connection when lib/pq reports driver.ErrBadConn (the server's
	// EOF); when the kernel reports a reset instead, lib/pq returns it as it
	// is (a *net.OpError), with the cache or without: either way the broken
	// connection is discarded, and the next query runs on a new one.
	want := 1 // runs of q on the new connection
	if rows, err := db.Query(q, 2); err == nil {
		rows.Close()
		want = 2
	} else if !strings.Contains(err.Error(), "connection reset by peer") {
		t.Fatalf("the first query after the connection broke: %v", err)
	}
	if got := rowsOf(t, db, q, 2); got[0][0] != "b" {
		t.Fatalf("after the connection broke: %v", got)
	}
	if n, runs := preparedOnConn(t, db, q); n != 1 || runs != want {
		t.Fatalf("on the new connection: %d statements run %d times, want 1 run %d times", n, runs, want)
	}
}

// statement_cache_capacity=0 in the URL turns the cache off (for a pooler
// in transaction mode): every run is parsed again, nothing stays prepared.
func TestPostgresStatementCacheOff(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	d := dbtest.Open(t)
	proxy, url := dbtest.ProxyURL(t, d.URL)
	db, err := database.Open(context.Background(), url+"&statement_cache_capacity=0", database.Pool{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const q = `SELECT $1::int + 1`
	parses := proxy.Sent('P')
	for range 2 {
		rowsOf(t, db.SQL, q, 1)
	}
	if got := proxy.Sent('P') - parses; got != 2 {
		t.Fatalf("%d Parse messages for two runs, want 2 (no cache)", got)
	}
	if n, _ := preparedOnConn(t, db.SQL, q); n != 0 {
		t.Fatalf("%d statements prepared with the cache off", n)
	}
	if _, err := database.Open(context.Background(), url+"&statement_cache_capacity=many", database.Pool{}); err == nil {
		t.Fatal("a capacity that is no number was accepted")
	}
}
