package dbtest

import (
	"context"
	stdsql "database/sql"
	"slices"
	"sync"
	"sync/atomic"

	"entgo.io/ent/dialect"
)

// Counter is a driver that counts the SQL statements run through it, so a
// test can prove a request's statement count does not grow with its result.
type Counter struct {
	dialect.Driver
	n   atomic.Int64
	txs atomic.Int64

	recording atomic.Bool
	mu        sync.Mutex
	log       []Statement
}

// Statement is one statement the counter kept: its text and arguments, so
// that a test can run it again (under EXPLAIN, say).
type Statement struct {
	Query string
	Args  []any
}

// NewCounter wraps drv.
func NewCounter(drv dialect.Driver) *Counter { return &Counter{Driver: drv} }

// Count returns the statements run so far.
func (c *Counter) Count() int64 { return c.n.Load() }

// Txs returns the transactions begun so far.
func (c *Counter) Txs() int64 { return c.txs.Load() }

// Reset sets the counts to zero (and forgets what Record kept).
func (c *Counter) Reset() {
	c.n.Store(0)
	c.txs.Store(0)
	c.mu.Lock()
	c.log = nil
	c.mu.Unlock()
}

// Record makes the counter keep the text of each statement from now on,
// so that a test failing on a count can say which statements ran.
func (c *Counter) Record() { c.recording.Store(true) }

// Statements returns the text of the statements kept since Record or the
// last Reset.
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.log))
	for i, s := range c.log {
		out[i] = s.Query
	}
	return out
}

// Recorded returns the statements kept since Record or the last Reset,
// with their arguments.
func (c *Counter) Recorded() []Statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log)
}

// count counts one statement.
func (c *Counter) count(query string, args any) {
	c.n.Add(1)
	if c.recording.Load() {
		a, _ := args.([]any)
		c.mu.Lock()
		c.log = append(c.log, Statement{Query: query, Args: slices.Clone(a)})
		c.mu.Unlock()
	}
}

// Exec implements dialect.ExecQuerier.
func (c *Counter) Exec(ctx context.Context, query string, args, v any) error {
	c.count(query, args)
	return c.Driver.Exec(ctx, query, args, v)
}

// Query implements dialect.ExecQuerier.
func (c *Counter) Query(ctx context.Context, query string, args, v any) error {
	c.count(query, args)
	return c.Driver.Query(ctx, query, args, v)
}

// Tx implements dialect.Driver.
func (c *Counter) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := c.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	c.txs.Add(1)
	return &countingTx{Tx: tx, c: c}, nil
}

// BeginTx lets ent open transactions with options through the counter.
func (c *Counter) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (dialect.Tx, error) {
	drv, ok := c.Driver.(interface {
		BeginTx(context.Context, *stdsql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return c.Tx(ctx)
	}
	tx, err := drv.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.txs.Add(1)
	return &countingTx{Tx: tx, c: c}, nil
}

type countingTx struct {
	dialect.Tx
	c *Counter
}

func (t *countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.c.count(query, args)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t *countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.c.count(query, args)
	return t.Tx.Query(ctx, query, args, v)
}

type execContexter interface {
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
}

// ExecContext lets raw statements (pg_notify) through the counter.
func (c *Counter) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	c.count(query, args)
	return c.Driver.(execContexter).ExecContext(ctx, query, args...)
}

// ExecContext lets raw statements (pg_notify) through the counter, in the transaction.
func (t *countingTx) ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error) {
	t.c.count(query, args)
	return t.Tx.(execContexter).ExecContext(ctx, query, args...)
}

type queryContexter interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

// QueryContext lets raw queries (package people's) through the counter.
func (c *Counter) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	c.count(query, args)
	return c.Driver.(queryContexter).QueryContext(ctx, query, args...)
}

// QueryContext lets raw queries through the counter, in the transaction.
func (t *countingTx) QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error) {
	t.c.count(query, args)
	return t.Tx.(queryContexter).QueryContext(ctx, query, args...)
}
