package database

import (
	"container/list"
	"context"
	stdsql "database/sql"
	"database/sql/driver"
	"sync"
	"sync/atomic"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/ride"
)

// fifoDriver admits transactions in the order they asked to begin, at most
// n at a time (n: the pool's size).
//
// database/sql hands a freed connection to a random waiter, not the one
// that has waited longest. Under a closed-loop load of writes (50 phones,
// a pool of 16) a transaction can lose that draw again and again: the
// median write waited ~40 ms and the slowest 1% ~4 times that (issue 10).
// Here a transaction first takes a ticket from a first-come, first-served
// queue and gives it back when it commits or rolls back. With no more
// tickets than connections, a transaction holding a ticket finds a
// connection free unless reads hold them: the queue forms here, in order,
// instead of in the pool's draw. Only the wait for a connection is
// ordered, not the whole request: the request's decoding, authentication
// and answer run beside the queue, as before (a gate around whole requests
// was tried and cost 16-27% of the writes per second).
type fifoDriver struct {
	dialect.Driver
	tickets *tickets
	// detached: statements outside a transaction reach database/sql with
	// their context detached (detach.go), for pgConn to take it back.
	detached bool
}

// fifo wraps drv so that its transactions begin first come, first served,
// n at a time; n <= 0 (a pool without a bound) leaves drv as it is. With
// detached, drv's connections are pgConns (PostgreSQL).
func fifo(drv dialect.Driver, n int, detached bool) dialect.Driver {
	if n <= 0 {
		return drv
	}
	return &fifoDriver{Driver: drv, tickets: newTickets(n), detached: detached}
}

// statementContext is the context a statement holding a ticket runs with.
func (d *fifoDriver) statementContext(ctx context.Context) context.Context {
	if d.detached {
		return detach(ctx)
	}
	return ctx
}

// Tx implements dialect.Driver.
func (d *fifoDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.begin(ctx, func() (dialect.Tx, error) { return d.Driver.Tx(ctx) })
}

// BeginTx lets ent open transactions with options (client.BeginTx).
func (d *fifoDriver) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (dialect.Tx, error) {
	b, ok := d.Driver.(interface {
		BeginTx(context.Context, *stdsql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return d.Tx(ctx)
	}
	return d.begin(ctx, func() (dialect.Tx, error) { return b.BeginTx(ctx, opts) })
}

// Exec runs a statement outside a transaction with a ticket, so that it too
// waits for a connection in turn: a mutation that is one statement (graph's
// oneStatementFields) runs without a transaction, and in the pool's draw its
// slowest 1% waited longer than in a transaction (issue 10).
func (d *fifoDriver) Exec(ctx context.Context, query string, args, v any) error {
	if err := d.tickets.take(ctx); err != nil {
		return err
	}
	defer d.tickets.give()
	if read := ride.Reading(ctx); read != nil {
		return execReading(d.statementContext(ctx), d.Driver, query, args, v, read)
	}
	return d.Driver.Exec(d.statementContext(ctx), query, args, v)
}

// Query is Exec's counterpart for reads: the ticket goes back when the rows
// are closed, since until then they keep their connection.
func (d *fifoDriver) Query(ctx context.Context, query string, args, v any) error {
	if err := d.tickets.take(ctx); err != nil {
		return err
	}
	err := d.Driver.Query(d.statementContext(ctx), query, args, v)
	rows, ok := v.(*sql.Rows)
	if err != nil || !ok || rows.ColumnScanner == nil {
		d.tickets.give()
		return err
	}
	rows.ColumnScanner = &fifoRows{ColumnScanner: rows.ColumnScanner, tickets: d.tickets}
	return nil
}

// fifoRows gives its ticket back when first closed (one allocation a
// statement: sync.OnceFunc made three).
type fifoRows struct {
	sql.ColumnScanner
	tickets *tickets
	closed  atomic.Bool
}

func (r *fifoRows) Close() error {
	err := r.ColumnScanner.Close()
	if r.closed.CompareAndSwap(false, true) {
		r.tickets.give()
	}
	return err
}

// ExecContext lets ent's client.ExecContext through (the embedded
// dialect.Driver does not promote it), with a ticket as Exec.
func (d *fifoDriver) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	if err := d.tickets.take(ctx); err != nil {
		return nil, err
	}
	defer d.tickets.give()
	return d.Driver.(interface {
		ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	}).ExecContext(d.statementContext(ctx), query, args...)
}

// QueryContext lets ent's client.QueryContext through, without a ticket:
// its rows are database/sql's, which cannot say when they close (its
// callers are the outbox's sequencer and readers and the listings' raw
// reads).
func (d *fifoDriver) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	return d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
	}).QueryContext(ctx, query, args...)
}

// DB returns the pool underneath (entsql.Driver's DB), for code that needs it.
func (d *fifoDriver) DB() *stdsql.DB {
	if db, ok := d.Driver.(interface{ DB() *stdsql.DB }); ok {
		return db.DB()
	}
	return nil
}

// begin waits for a ticket (or for ctx to end), then opens the transaction.
func (d *fifoDriver) begin(ctx context.Context, open func() (dialect.Tx, error)) (dialect.Tx, error) {
	if err := d.tickets.take(ctx); err != nil {
		return nil, err
	}
	tx, err := open()
	if err != nil {
		d.tickets.give()
		return nil, err
	}
	t := &fifoTx{Tx: tx}
	t.release = sync.OnceFunc(d.tickets.give)
	// database/sql rolls a transaction back when its context ends, whether
	// or not anyone calls Rollback: the ticket goes back then too, or a
	// transaction abandoned that way would keep it for good.
	t.stop = context.AfterFunc(ctx, t.release)
	return t, nil
}

// fifoTx gives its ticket back when it ends.
type fifoTx struct {
	dialect.Tx
	release func()
	stop    func() bool
}

func (t *fifoTx) Commit() error {
	err := t.Tx.Commit()
	t.end()
	return err
}

func (t *fifoTx) Rollback() error {
	err := t.Tx.Rollback()
	t.end()
	return err
}

func (t *fifoTx) end() {
	t.stop()
	t.release()
}

// Exec runs an update that asked for its rows back (ride.Reading) as a
// query; any other statement as it is.
func (t *fifoTx) Exec(ctx context.Context, query string, args, v any) error {
	if read := ride.Reading(ctx); read != nil {
		return execReading(ctx, t.Tx, query, args, v, read)
	}
	return t.Tx.Exec(ctx, query, args, v)
}

// execReading runs the statement of an update of units that returns the
// rows it changed (package ride) as a query on ex, gives the rows to read,
// and reports the rows read as the rows affected, as Exec would have.
func execReading(ctx context.Context, ex dialect.ExecQuerier, query string, args, v any, read func(*sql.Rows) (int, error)) error {
	rows := &sql.Rows{}
	if err := ex.Query(ctx, query, args, rows); err != nil {
		return err
	}
	n, err := read(rows)
	if err != nil {
		return err
	}
	if res, ok := v.(*sql.Result); ok {
		*res = driver.RowsAffected(n)
	}
	return nil
}

// ExecContext lets ent's tx.ExecContext through (savepoints, pg_notify).
func (t *fifoTx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	return t.Tx.(interface {
		ExecContext(context.Context, string, ...any) (stdsql.Result, error)
	}).ExecContext(ctx, query, args...)
}

// QueryContext lets ent's tx.QueryContext through.
func (t *fifoTx) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	return t.Tx.(interface {
		QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
	}).QueryContext(ctx, query, args...)
}

// tickets is a counting semaphore that serves its waiters in the order
// they came (sync.Mutex and database/sql's pool promise no order; Go's
// channels queue blocked senders in order, but say so nowhere in the
// language's specification).
type tickets struct {
	mu      sync.Mutex
	free    int
	waiters list.List // of chan struct{}, closed when its turn comes
}

func newTickets(n int) *tickets { return &tickets{free: n} }

// take waits for a ticket, behind everyone who asked before, or until ctx
// ends.
func (t *tickets) take(ctx context.Context) error {
	t.mu.Lock()
	if t.free > 0 && t.waiters.Len() == 0 {
		t.free--
		t.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	e := t.waiters.PushBack(turn)
	t.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-turn:
		// The ticket came as ctx ended: it goes to the next in line.
		t.pass()
	default:
		t.waiters.Remove(e)
	}
	return ctx.Err()
}

// give returns a ticket: to the first waiter, or to the free ones.
func (t *tickets) give() {
	t.mu.Lock()
	t.pass()
	t.mu.Unlock()
}

// pass hands a ticket on; t.mu is held.
func (t *tickets) pass() {
	if first := t.waiters.Front(); first != nil {
		t.waiters.Remove(first)
		close(first.Value.(chan struct{}))
		return
	}
	t.free++
}

// waiting returns how many wait for a ticket.
func (t *tickets) waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiters.Len()
}
