package tracing

import (
	"context"
	stdsql "database/sql"
	"fmt"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/statement"
)

// Driver wraps drv so that each statement run under a recording span gets
// a span of its own (a client span named like "SELECT units", with the
// statement's text in db.query.text, parameters left out and literals
// masked), a child of the resolver that ran it (see Defer) or of the
// request's or job's span. BEGIN, COMMIT and ROLLBACK count as statements.
// Under no recording span a statement costs one look at its context (and
// one more for package statement, which may record it or keep it from
// running).
//
// It wraps ent's driver, not database/sql's: what ent runs (queries, hooks,
// privacy rules, the raw ExecContext of live and listing) passes through
// it, and the drivers below (lib/pq with its statement cache, SQLite) are
// left alone.
func Driver(drv dialect.Driver) dialect.Driver {
	system := semconv.DBSystemNameKey.String("other_sql")
	switch drv.Dialect() {
	case dialect.Postgres:
		system = semconv.DBSystemNamePostgreSQL
	case dialect.SQLite:
		system = semconv.DBSystemNameSQLite
	case dialect.MySQL:
		system = semconv.DBSystemNameMySQL
	}
	return &driver{Driver: drv, system: system}
}

type driver struct {
	dialect.Driver
	system attribute.KeyValue
}

// start begins the span of one statement, or returns nil when ctx records
// nothing.
func start(ctx context.Context, system attribute.KeyValue, query string) trace.Span {
	if !Recording(ctx) {
		return nil
	}
	parent := parentOf(ctx)
	s := Statement(query)
	_, span := tracerOf(parent).Start(parent, s.Name(), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(system, semconv.DBQueryText(s.Text), semconv.DBOperationName(s.Operation)))
	if s.Table != "" {
		span.SetAttributes(semconv.DBCollectionName(s.Table))
	}
	return span
}

// finish ends span (if any), failed by err's code.
func finish(span trace.Span, err error) {
	if span == nil {
		return
	}
	if err != nil {
		code := Code(err)
		if state, ok := sqlState(err); ok {
			span.SetAttributes(semconv.DBResponseStatusCode(state))
		}
		Fail(span, code)
	}
	span.End()
}

func exec(ctx context.Context, eq dialect.ExecQuerier, system attribute.KeyValue, query string, args, v any) error {
	if err := statement.Sent(ctx, query, args); err != nil {
		return err
	}
	span := start(ctx, system, query)
	err := eq.Exec(ctx, query, args, v)
	finish(span, err)
	return err
}

// query runs a query whose span ends when its rows are closed: lib/pq and
// SQLite hand the rows over as they arrive, so reading them is part of the
// statement's time.
func query(ctx context.Context, eq dialect.ExecQuerier, system attribute.KeyValue, query string, args, v any) error {
	if err := statement.Sent(ctx, query, args); err != nil {
		return err
	}
	span := start(ctx, system, query)
	err := eq.Query(ctx, query, args, v)
	if rows, ok := v.(*entsql.Rows); ok && err == nil && rows.ColumnScanner != nil {
		rows.ColumnScanner = &typedRows{ColumnScanner: rows.ColumnScanner}
	}
	if span == nil {
		return err
	}
	if rows, ok := v.(*entsql.Rows); ok && err == nil && rows.ColumnScanner != nil {
		rows.ColumnScanner = &spanRows{ColumnScanner: rows.ColumnScanner, span: span}
		return nil
	}
	finish(span, err)
	return err
}

// typedRows answers ColumnTypes from its first call. ent reads a column it
// has no field for (an expression a query appends: a unit's folded project
// name, a customer's folded visits) as the type its driver reports, and
// asks for the column types once per row of such a result: database/sql
// builds the whole list anew each time (for 21 units, 21 lists of 8
// columns, 6% of the processor time of a page of listings). The types of a
// result's columns do not change from row to row. Every statement of the
// ent client comes through this driver, traced or not, so it is here.
type typedRows struct {
	entsql.ColumnScanner
	types []*stdsql.ColumnType
	err   error
	read  bool
}

func (r *typedRows) ColumnTypes() ([]*stdsql.ColumnType, error) {
	if !r.read {
		r.types, r.err = r.ColumnScanner.ColumnTypes()
		r.read = true
	}
	return r.types, r.err
}

type spanRows struct {
	entsql.ColumnScanner
	span trace.Span
}

func (r *spanRows) Close() error {
	err := r.ColumnScanner.Close()
	if r.span != nil {
		e := err
		if e == nil {
			e = r.ColumnScanner.Err()
		}
		finish(r.span, e)
		r.span = nil
	}
	return err
}

type execContexter interface {
	ExecContext(ctx context.Context, query string, args ...any) (stdsql.Result, error)
}

type queryContexter interface {
	QueryContext(ctx context.Context, query string, args ...any) (*stdsql.Rows, error)
}

func execContext(ctx context.Context, under any, system attribute.KeyValue, query string, args []any) (stdsql.Result, error) {
	ex, ok := under.(execContexter)
	if !ok {
		return nil, fmt.Errorf("Driver.ExecContext is not supported")
	}
	if err := statement.Sent(ctx, query, args); err != nil {
		return nil, err
	}
	span := start(ctx, system, query)
	res, err := ex.ExecContext(ctx, query, args...)
	finish(span, err)
	return res, err
}

func queryContext(ctx context.Context, under any, system attribute.KeyValue, query string, args []any) (*stdsql.Rows, error) {
	q, ok := under.(queryContexter)
	if !ok {
		return nil, fmt.Errorf("Driver.QueryContext is not supported")
	}
	if err := statement.Sent(ctx, query, args); err != nil {
		return nil, err
	}
	span := start(ctx, system, query)
	rows, err := q.QueryContext(ctx, query, args...)
	finish(span, err) // *sql.Rows cannot be wrapped: the span ends with the first rows
	return rows, err
}

// Exec implements dialect.ExecQuerier.
func (d *driver) Exec(ctx context.Context, q string, args, v any) error {
	return exec(ctx, d.Driver, d.system, q, args, v)
}

// Query implements dialect.ExecQuerier.
func (d *driver) Query(ctx context.Context, q string, args, v any) error {
	return query(ctx, d.Driver, d.system, q, args, v)
}

// ExecContext lets ent's client.ExecContext (pg_notify, savepoints) through.
func (d *driver) ExecContext(ctx context.Context, q string, args ...any) (stdsql.Result, error) {
	return execContext(ctx, d.Driver, d.system, q, args)
}

// QueryContext lets ent's client.QueryContext through.
func (d *driver) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	return queryContext(ctx, d.Driver, d.system, q, args)
}

// Tx implements dialect.Driver.
func (d *driver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.begin(ctx, func() (dialect.Tx, error) { return d.Driver.Tx(ctx) })
}

// BeginTx lets ent open transactions with options (client.BeginTx).
func (d *driver) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (dialect.Tx, error) {
	b, ok := d.Driver.(interface {
		BeginTx(context.Context, *stdsql.TxOptions) (dialect.Tx, error)
	})
	if !ok {
		return d.Tx(ctx)
	}
	return d.begin(ctx, func() (dialect.Tx, error) { return b.BeginTx(ctx, opts) })
}

func (d *driver) begin(ctx context.Context, open func() (dialect.Tx, error)) (dialect.Tx, error) {
	span := start(ctx, d.system, "BEGIN")
	tx, err := open()
	finish(span, err)
	if err != nil {
		return nil, err
	}
	// COMMIT and ROLLBACK hang from where the transaction began (the
	// request, for a mutation), statements from where they run.
	if span == nil {
		return tx, nil // begun under no recording span: nothing in it is traced
	}
	return &spanTx{Tx: tx, ctx: ctx, system: d.system}, nil
}

type spanTx struct {
	dialect.Tx
	ctx    context.Context
	system attribute.KeyValue
}

func (t *spanTx) Exec(ctx context.Context, q string, args, v any) error {
	return exec(ctx, t.Tx, t.system, q, args, v)
}

func (t *spanTx) Query(ctx context.Context, q string, args, v any) error {
	return query(ctx, t.Tx, t.system, q, args, v)
}

func (t *spanTx) ExecContext(ctx context.Context, q string, args ...any) (stdsql.Result, error) {
	return execContext(ctx, t.Tx, t.system, q, args)
}

func (t *spanTx) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	return queryContext(ctx, t.Tx, t.system, q, args)
}

func (t *spanTx) Commit() error {
	span := start(t.ctx, t.system, "COMMIT")
	err := t.Tx.Commit()
	finish(span, err)
	return err
}

func (t *spanTx) Rollback() error {
	span := start(t.ctx, t.system, "ROLLBACK")
	err := t.Tx.Rollback()
	finish(span, err)
	return err
}
