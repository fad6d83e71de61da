package tracing_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"entgo.io/ent/dialect"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/statement"
	"estatecrm/tracing"
)

// nopDriver answers every statement at once, so that what a benchmark
// measures is the wrapper.
type nopDriver struct{ err error }

func (d nopDriver) Exec(context.Context, string, any, any) error  { return d.err }
func (d nopDriver) Query(context.Context, string, any, any) error { return d.err }
func (d nopDriver) Tx(context.Context) (dialect.Tx, error)        { return nil, errors.New("no tx") }
func (d nopDriver) Close() error                                  { return nil }
func (d nopDriver) Dialect() string                               { return dialect.Postgres }

type key int

// requestContext is a context as deep as a request's by the time a
// resolver runs a statement (values of the middleware, gqlgen, ent).
func requestContext(ctx context.Context) context.Context {
	for i := range 24 {
		ctx = context.WithValue(ctx, key(i), i)
	}
	return ctx
}

const listing = `SELECT "units"."id", "units"."number", "units"."list_price" FROM "units" WHERE "units"."project_id" = $1 AND "units"."status" = $2 ORDER BY "units"."list_price" LIMIT 21`

// BenchmarkStatement is the cost per statement of tracing.Driver: bare (no
// wrapper), off (the wrapper, no span in the context: every statement of a
// server without traces), on (a span per statement).
//
//	go test ./tracing -run '^$' -bench Statement
func BenchmarkStatement(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	traced, span := tp.Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	for _, tc := range []struct {
		name string
		drv  dialect.Driver
		ctx  context.Context
	}{
		{"bare", nopDriver{}, requestContext(context.Background())},
		{"off", tracing.Driver(nopDriver{}), requestContext(context.Background())},
		{"on", tracing.Driver(nopDriver{}), requestContext(traced)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = tc.drv.Exec(tc.ctx, listing, []any{"PJ1", "AVAILABLE"}, nil)
			}
		})
	}
}

// A statement under a pending span begins it, dated from the work's start,
// and hangs from it; a statement's error is its SQLSTATE, not its message;
// work that runs no statement leaves no span.
func TestDriverSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	ctx, req := tp.Tracer("test").Start(context.Background(), "request")
	drv := tracing.Driver(nopDriver{err: pqError{"23505", "duplicate key value (phone)=(+8613800138000)"}})

	_, p := tracing.Defer(ctx, "Unit.number", nil) // no statement: no span
	p.End("")
	work, p := tracing.Defer(ctx, "Query.units", nil)
	if err := drv.Exec(work, listing, []any{"+8613800138000"}, nil); err == nil {
		t.Fatal("the driver's error was lost")
	}
	p.End("CONFLICT")
	req.End()

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want the statement, its resolver and the request", len(spans))
	}
	stmt, resolver := spans[0], spans[1]
	if resolver.Name() != "Query.units" || stmt.Parent().SpanID() != resolver.SpanContext().SpanID() ||
		resolver.Parent().SpanID() != req.SpanContext().SpanID() {
		t.Fatalf("spans %q under %s, %q under %s", stmt.Name(), stmt.Parent().SpanID(), resolver.Name(), resolver.Parent().SpanID())
	}
	if stmt.Name() != "SELECT units" || stmt.SpanKind() != trace.SpanKindClient || stmt.Status().Description != "23505" {
		t.Errorf("statement span %q %s, status %v", stmt.Name(), stmt.SpanKind(), stmt.Status())
	}
	for _, s := range spans {
		for _, kv := range s.Attributes() {
			if v := kv.Value.Emit(); v == "" || containsAny(v, "+86138", "duplicate") {
				t.Errorf("span %q: %s=%q", s.Name(), kv.Key, v)
			}
		}
	}
	if resolver.StartTime().After(stmt.StartTime()) {
		t.Errorf("the resolver's span starts after its statement")
	}
}

type pqError struct{ state, msg string }

func (e pqError) Error() string    { return e.msg }
func (e pqError) SQLState() string { return e.state }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// countingDriver counts the statements that reach it.
type countingDriver struct {
	nopDriver
	n *int
}

func (d countingDriver) Exec(context.Context, string, any, any) error  { *d.n++; return nil }
func (d countingDriver) Query(context.Context, string, any, any) error { *d.n++; return nil }

// Under a statement log every statement is recorded; under a dry one none
// reaches the driver below.
func TestDriverReportsStatementsToTheirLog(t *testing.T) {
	var n int
	drv := tracing.Driver(countingDriver{n: &n})
	rec, log := statement.Record(context.Background())
	if err := drv.Query(rec, listing, []any{"PJ1", "AVAILABLE"}, nil); err != nil || n != 1 {
		t.Fatalf("recorded: %v, %d statements run", err, n)
	}
	dry, dryLog := statement.Dry(context.Background())
	if err := drv.Query(dry, listing, []any{"PJ1"}, nil); !errors.Is(err, statement.ErrDry) {
		t.Fatalf("dry query: %v", err)
	}
	if err := drv.Exec(dry, "DELETE FROM units", []any{}, nil); !errors.Is(err, statement.ErrDry) || n != 1 {
		t.Fatalf("dry exec: %v, %d statements run", err, n)
	}
	if len(log.Statements()) != 1 || len(dryLog.Statements()) != 2 || log.Statements()[0].Text != listing {
		t.Errorf("logs %+v and %+v", log.Statements(), dryLog.Statements())
	}
}
