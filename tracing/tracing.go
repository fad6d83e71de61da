// Package tracing holds the OpenTelemetry instrumentation of estatecrm: the
// span of each SQL statement (Driver), the deferred span of a resolver that
// turns out to touch the database (Defer), the root span of a background
// job (Root), and how an error is named on a span (Fail, Code).
//
// Nothing here holds a TracerProvider of its own. A statement or a resolver
// gets its span from the provider of the span already in its context (the
// request's, the job's), so the database and the resolvers need no
// configuration, and without a recording span in the context (tracing off,
// or a request not sampled) they do nothing but look once at the context.
//
// A span never carries personal data: statements go without their
// parameters, with literals masked (Statement); errors go by their code,
// never by their message (which may quote the input).
package tracing

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/apperr"
)

// ScopeName is the instrumentation scope of every span estatecrm makes.
const ScopeName = "estatecrm"

// RequestIDKey is the attribute of a request's span that holds the request
// id, the same key as in the request's log line.
const RequestIDKey = attribute.Key("request_id")

// tracers caches a Tracer per provider: the SDK's provider takes a lock to
// look one up.
var tracers sync.Map // trace.TracerProvider → trace.Tracer

// Tracer returns the tracer of tp for estatecrm's spans.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if t, ok := tracers.Load(tp); ok {
		return t.(trace.Tracer)
	}
	t, _ := tracers.LoadOrStore(tp, tp.Tracer(ScopeName))
	return t.(trace.Tracer)
}

// tracerOf returns the tracer of the span in ctx, so that a child goes to
// the same pipeline as its parent.
func tracerOf(ctx context.Context) trace.Tracer {
	return Tracer(trace.SpanFromContext(ctx).TracerProvider())
}

// Recording reports whether ctx holds a span that records: whether a span
// started under ctx would go anywhere.
func Recording(ctx context.Context) bool {
	return trace.SpanFromContext(ctx).IsRecording()
}

// Root starts the root span of one run of a background job (a sweep, a
// webhook delivery): a trace of its own, whatever ctx carries. With a nil
// tp it returns ctx and a span that records nothing.
func Root(ctx context.Context, tp trace.TracerProvider, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if tp == nil {
		return ctx, trace.SpanFromContext(context.Background())
	}
	return Tracer(tp).Start(ctx, name, trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
}

// End ends a job's span, marking it failed by err's code (Code) when err is
// not nil.
func End(span trace.Span, err error) {
	if err != nil {
		Fail(span, Code(err))
	}
	span.End()
}

// Fail marks span as failed with code: the error's code goes in error.type
// and the status, its message nowhere (a message may quote what a person
// typed).
func Fail(span trace.Span, code string) {
	if code == "" {
		code = semconv.ErrorTypeOther.Value.AsString()
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(code))
	span.SetStatus(codes.Error, code)
}

// Code names err for a span without its message: an application error's
// code (apperr), a database's SQLSTATE or SQLite result code, a context's
// cancellation, or else the error's Go type.
func Code(err error) string {
	if e, ok := apperr.As(err); ok {
		return string(e.Code)
	}
	if state, ok := sqlState(err); ok {
		return state
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	}
	return semconv.ErrorType(err).Value.AsString()
}

// sqlState returns PostgreSQL's SQLSTATE (lib/pq, pgx) or SQLite's result
// code name of err, if it has one.
func sqlState(err error) (string, bool) {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) {
		return pg.SQLState(), true
	}
	var lite interface{ Code() int }
	if errors.As(err, &lite) {
		return "sqlite_" + strconv.Itoa(lite.Code()), true
	}
	return "", false
}

// Start starts a child of the span in ctx (a call out of the process, a
// step of a job), or returns ctx and its span, which records nothing,
// when ctx records none.
func Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if !Recording(ctx) {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracerOf(ctx).Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}
