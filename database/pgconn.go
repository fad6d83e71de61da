package database

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"reflect"
	"strings"

	"github.com/lib/pq"
)

// maxCachedStatements bounds the statements each connection keeps prepared.
// The server keeps a parse tree (and, after five runs, maybe a generic plan)
// per statement and session: the app runs well under a hundred distinct
// statements on its hot paths, and the bound keeps generated variants
// (IN lists of every length) from growing the server's memory without end.
const maxCachedStatements = 256

// pgConn is lib/pq's connection with two changes.
//
// JSON documents go as text. ent passes JSON columns as json.RawMessage;
// with binary_parameters lib/pq sends every []byte in binary format, which
// jsonb refuses ("unsupported jsonb version number 123", lib/pq#528)
// because its binary form starts with a version byte. As text, PostgreSQL
// parses it for the column's type. Other []byte (bytea) stay binary.
//
// Statements are prepared once per connection. lib/pq sends every statement
// with parameters unnamed, so PostgreSQL parses, analyses and plans it on
// every run (GOTCHAS 17: planning cost more than executing the listings).
// pgConn prepares each statement with parameters under a name on its first
// run on the connection, keeps the 256 most recently used (closing the one
// it evicts), and then only binds and executes it: one round trip, no parse.
// database/sql hands a transaction the connection it began on, so
// statements run in transactions use the same cache.
//
// What stays on lib/pq's plain path: statements without parameters (lib/pq
// runs them with the simple protocol, which allows several statements in
// one string, SET, LISTEN and the like) and statements that are not a
// SELECT, INSERT, UPDATE, DELETE, VALUES or WITH query (COPY, utility
// commands).
//
// A prepared statement can go stale: after DDL that changes what it returns
// PostgreSQL refuses it ("cached plan must not change result type", 0A000),
// and one dropped behind the driver's back (DEALLOCATE, DISCARD) is
// "prepared statement does not exist" (26000). Both are raised at Bind,
// before the statement runs, so outside a transaction pgConn forgets the
// statement, prepares it again and runs it once more. Inside a transaction
// the error has already aborted the transaction: it is returned (as asyncpg
// and pgx do) and the next run prepares afresh. Errors that break the
// connection come back from lib/pq unchanged (driver.ErrBadConn), so
// database/sql retries and discards the connection as before.
//
// database/sql uses a driver.Conn from one goroutine at a time, so pgConn
// needs no lock.
type pgConn struct {
	driver.Conn

	max   int
	stmts map[string]*cachedStmt
	// head is the most recently used statement, tail the least.
	head, tail *cachedStmt
	// stale holds statements to close once the connection is out of the
	// transaction that found them stale (a failed transaction may refuse).
	stale []driver.Stmt

	inTx bool
	// open counts result sets not yet closed: lib/pq reads a result set
	// from the socket as the caller asks for rows, so nothing else may be
	// sent meanwhile. lib/pq guards its plain path but not rows of a
	// prepared statement, so pgConn answers for both (errBusy).
	open int
}

// errBusy is lib/pq's answer to a statement sent while a result set is
// still being read on the connection (a transaction reading two at once).
var errBusy = errors.New("pq: there is already a query being processed on this connection")

type cachedStmt struct {
	query      string
	stmt       driver.Stmt
	prev, next *cachedStmt
}

func newPGConn(cn driver.Conn, max int) *pgConn {
	return &pgConn{Conn: cn, max: max, stmts: make(map[string]*cachedStmt)}
}

var (
	_ driver.ConnBeginTx        = (*pgConn)(nil)
	_ driver.ConnPrepareContext = (*pgConn)(nil)
	_ driver.ExecerContext      = (*pgConn)(nil)
	_ driver.QueryerContext     = (*pgConn)(nil)
	_ driver.NamedValueChecker  = (*pgConn)(nil)
	_ driver.Pinger             = (*pgConn)(nil)
	_ driver.SessionResetter    = (*pgConn)(nil)
	_ driver.Validator          = (*pgConn)(nil)
)

// CheckNamedValue turns JSON documents into strings, then lets lib/pq convert.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if raw, ok := nv.Value.(json.RawMessage); ok {
		if raw == nil {
			nv.Value = nil
		} else {
			nv.Value = string(raw)
		}
	}
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *pgConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	ctx = caller(ctx)
	b, ok := c.Conn.(driver.ConnBeginTx)
	if !ok {
		return nil, errors.New("postgres driver: BeginTx unsupported")
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return pgTx{tx, c}, nil
}

// pgTx tells its connection when the transaction is over.
type pgTx struct {
	driver.Tx
	c *pgConn
}

func (t pgTx) Commit() error {
	t.c.inTx = false
	return t.Tx.Commit()
}

func (t pgTx) Rollback() error {
	t.c.inTx = false
	return t.Tx.Rollback()
}

// PrepareContext is database/sql's explicit Prepare (and pq.CopyIn): those
// statements belong to the caller, who closes them; the cache stays out.
func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	ctx = caller(ctx)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

// QueryContext and ExecContext run the statement with the caller's context
// (detach.go): lib/pq cancels it on the server when that context ends.
func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	ctx = caller(ctx)
	if c.open > 0 {
		return nil, errBusy
	}
	var (
		rows driver.Rows
		err  error
	)
	if c.cacheable(query, args) {
		rows, err = c.queryPrepared(ctx, query, args)
	} else if q, ok := c.Conn.(driver.QueryerContext); ok {
		rows, err = q.QueryContext(ctx, query, args)
	} else {
		return nil, driver.ErrSkip
	}
	if err != nil {
		return nil, err
	}
	c.open++
	return &pgRows{Rows: rows, c: c}, nil
}

func (c *pgConn) queryPrepared(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	for attempt := 0; ; attempt++ {
		st, fresh, err := c.prepared(ctx, query)
		if err != nil {
			return nil, err
		}
		rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
		if err != nil && c.invalidated(query, err) && !fresh && !c.inTx && attempt == 0 {
			continue
		}
		return rows, err
	}
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	ctx = caller(ctx)
	if c.open > 0 {
		return nil, errBusy
	}
	if !c.cacheable(query, args) {
		if e, ok := c.Conn.(driver.ExecerContext); ok {
			return e.ExecContext(ctx, query, args)
		}
		return nil, driver.ErrSkip
	}
	for attempt := 0; ; attempt++ {
		st, fresh, err := c.prepared(ctx, query)
		if err != nil {
			return nil, err
		}
		res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
		if err != nil && c.invalidated(query, err) && !fresh && !c.inTx && attempt == 0 {
			continue
		}
		return res, err
	}
}

// cacheable reports whether query goes through a statement prepared on the
// connection (see pgConn).
func (c *pgConn) cacheable(query string, args []driver.NamedValue) bool {
	if len(args) == 0 || c.max <= 0 {
		return false
	}
	return preparable(query)
}

// preparable reports whether query is one of the commands PostgreSQL can
// prepare, judged by its first word.
func preparable(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	end := 0
	for end < len(q) && end < 7 && isLetter(q[end]) {
		end++
	}
	switch strings.ToUpper(q[:end]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES":
		return true
	}
	return false
}

func isLetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

// prepared returns the connection's statement for query, preparing it on
// first use; fresh says it was prepared now.
func (c *pgConn) prepared(ctx context.Context, query string) (st driver.Stmt, fresh bool, err error) {
	if e := c.stmts[query]; e != nil {
		c.touch(e)
		return e.stmt, false, nil
	}
	c.closeStale()
	st, err = c.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	e := &cachedStmt{query: query, stmt: st}
	c.stmts[query] = e
	c.pushFront(e)
	for len(c.stmts) > c.max {
		old := c.tail
		c.unlink(old)
		delete(c.stmts, old.query)
		// An error here means the connection broke; lib/pq remembers that
		// and the statement about to run reports it.
		_ = old.stmt.Close()
	}
	return st, true, nil
}

// invalidated reports whether err says the statement prepared for query is
// stale, and forgets it (all of them when the server lost them).
func (c *pgConn) invalidated(query string, err error) bool {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return false
	}
	switch {
	case pe.Code == "26000": // invalid_sql_statement_name: the session lost its statements
		// Gone on the server: nothing to close.
		clear(c.stmts)
		c.head, c.tail = nil, nil
		return true
	case pe.Code == "0A000" && pe.Routine == "RevalidateCachedQuery": // cached plan must not change result type
		if e := c.stmts[query]; e != nil {
			c.unlink(e)
			delete(c.stmts, query)
			c.stale = append(c.stale, e.stmt)
		}
		if !c.inTx {
			c.closeStale()
		}
		return true
	}
	return false
}

// closeStale closes statements found stale inside a transaction, once out
// of it.
func (c *pgConn) closeStale() {
	if c.inTx || len(c.stale) == 0 {
		return
	}
	for _, st := range c.stale {
		_ = st.Close()
	}
	c.stale = c.stale[:0]
}

func (c *pgConn) touch(e *cachedStmt) {
	if c.head == e {
		return
	}
	c.unlink(e)
	c.pushFront(e)
}

func (c *pgConn) pushFront(e *cachedStmt) {
	e.prev, e.next = nil, c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *pgConn) unlink(e *cachedStmt) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *pgConn) Ping(ctx context.Context) error {
	ctx = caller(ctx)
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *pgConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *pgConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// pgRows tells its connection when the result set is closed; the column
// type methods database/sql looks for are forwarded.
type pgRows struct {
	driver.Rows
	c      *pgConn
	closed bool
}

func (r *pgRows) Close() error {
	if !r.closed {
		r.closed = true
		r.c.open--
	}
	return r.Rows.Close()
}

func (r *pgRows) HasNextResultSet() bool {
	n, ok := r.Rows.(driver.RowsNextResultSet)
	return ok && n.HasNextResultSet()
}

func (r *pgRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return errors.New("postgres driver: no further result sets")
}

func (r *pgRows) ColumnTypeScanType(i int) reflect.Type {
	return r.Rows.(driver.RowsColumnTypeScanType).ColumnTypeScanType(i)
}

func (r *pgRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.Rows.(driver.RowsColumnTypeDatabaseTypeName).ColumnTypeDatabaseTypeName(i)
}

func (r *pgRows) ColumnTypeLength(i int) (int64, bool) {
	return r.Rows.(driver.RowsColumnTypeLength).ColumnTypeLength(i)
}

func (r *pgRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.Rows.(driver.RowsColumnTypePrecisionScale).ColumnTypePrecisionScale(i)
}
