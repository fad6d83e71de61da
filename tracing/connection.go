package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// A WebSocket's request gets no span: it lasts as long as the connection,
// hours for a phone watching a sales grid, and a span is exported only when
// it ends. Instead each operation started on the connection (a
// subscription) gets a span of its own, covering its start (the resolver:
// the privacy checks, reading where to resume), and the work the
// subscription does later (its catch-up reads of the outbox) gets spans
// that hang from it (Later). Delivering one event gets none: that is the
// hot path, one statement per subscriber per event.

// ProjectIDKey and ComplaintIDKey name what a subscription watches, by id
// only (never a name or a phone).
const (
	ProjectIDKey   = attribute.Key("estatecrm.project.id")
	ComplaintIDKey = attribute.Key("estatecrm.complaint.id")
)

type connKey struct{}

// connection is what WithConnection keeps for the connection's operations.
type connection struct {
	tp    trace.TracerProvider
	attrs []attribute.KeyValue
}

// WithConnection marks ctx, the context of a WebSocket's request, as traced
// through tp: StartOperation then gives each operation of the connection a
// span carrying attrs (the request id), in the trace of the span context in
// ctx when there is one (a traceparent header), else in a trace of its own.
func WithConnection(ctx context.Context, tp trace.TracerProvider, attrs ...attribute.KeyValue) context.Context {
	if tp == nil {
		return ctx
	}
	return context.WithValue(ctx, connKey{}, &connection{tp: tp, attrs: attrs})
}

// StartOperation starts the server span of an operation run on a
// connection that WithConnection marked, named name. It returns false (and
// ctx) when ctx is no such connection's or already records a span.
func StartOperation(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span, bool) {
	c, ok := ctx.Value(connKey{}).(*connection)
	if !ok || Recording(ctx) {
		return ctx, trace.SpanFromContext(ctx), false
	}
	ctx, span := Tracer(c.tp).Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(c.attrs...), trace.WithAttributes(attrs...))
	return ctx, span, span.IsRecording()
}

// Later returns a function that starts a child of the span recording in ctx
// now, under the context it is given, even after that span has ended: the
// steps of work that outlives the operation that started it (a
// subscription's reads). It returns nil when ctx records nothing.
func Later(ctx context.Context) func(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return nil
	}
	tracer, parent := Tracer(span.TracerProvider()), span.SpanContext()
	return func(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
		// The step's statements hang from its span, not from a resolver's
		// pending span that ctx may still carry (the work that started it).
		ctx = context.WithValue(trace.ContextWithSpanContext(ctx, parent), pendingKey{}, (*Pending)(nil))
		return tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	}
}
