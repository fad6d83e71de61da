package tracing

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Pending is the span of a piece of work (a GraphQL resolver) that exists
// only if the work touches the database: its first statement begins it,
// dated from when the work began, and the statements are its children.
// Work that reads nothing from the database (a field of a row already
// loaded, a page whose edges were loaded with it) leaves no span, so a
// trace shows the resolvers that cost round trips and not the hundreds of
// fields around them.
type Pending struct {
	parent context.Context // the work's context: its span is the nearest begun one
	name   string
	attrs  func() []attribute.KeyValue
	start  time.Time

	mu   sync.Mutex // resolvers of one operation may run at once
	ctx  context.Context
	span trace.Span
	done bool
}

type pendingKey struct{}

// Defer returns ctx carrying a pending span for work that starts now, or
// ctx and nil when ctx records no span (tracing off, a request not
// sampled). attrs, if not nil, gives the span's attributes when it begins
// (most pending spans never do). Call End when the work is done.
func Defer(ctx context.Context, name string, attrs func() []attribute.KeyValue) (context.Context, *Pending) {
	if !Recording(ctx) {
		return ctx, nil
	}
	p := &Pending{parent: ctx, name: name, attrs: attrs, start: time.Now()}
	return context.WithValue(ctx, pendingKey{}, p), p
}

func pendingOf(ctx context.Context) *Pending {
	p, _ := ctx.Value(pendingKey{}).(*Pending)
	return p
}

// End ends the span if the work began it, marked failed with code unless
// code is "". A nil Pending does nothing.
func (p *Pending) End(code string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	if p.span == nil {
		return
	}
	if code != "" {
		Fail(p.span, code)
	}
	p.span.End()
}

// Begun reports whether the work touched the database (so has a span).
func (p *Pending) Begun() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.span != nil
}

// begin returns the context of p's span, beginning it if the work is still
// running; false once the work is over without having begun one.
func (p *Pending) begin() (context.Context, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.span == nil {
		if p.done {
			return nil, false
		}
		parent := p.up()
		p.ctx, p.span = tracerOf(parent).Start(parent, p.name, trace.WithTimestamp(p.start), trace.WithSpanKind(trace.SpanKindInternal))
		if p.attrs != nil {
			p.span.SetAttributes(p.attrs()...)
		}
	}
	return p.ctx, true
}

// begun returns the context of p's span if it has one, without beginning it.
func (p *Pending) begun() (context.Context, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctx, p.span != nil
}

// up returns the context a span of p's (or of a statement under p, once p
// is over) hangs from: the nearest enclosing work that has a span (a
// field's resolver is under its parent field's), else the span in p's
// context (the request's).
func (p *Pending) up() context.Context {
	for a := pendingOf(p.parent); a != nil; a = pendingOf(a.parent) {
		if ctx, ok := a.begun(); ok {
			return ctx
		}
	}
	return p.parent
}

// parentOf returns the context a statement run under ctx hangs from: the
// span of the work ctx belongs to, begun now if need be.
func parentOf(ctx context.Context) context.Context {
	p := pendingOf(ctx)
	if p == nil {
		return ctx
	}
	if c, ok := p.begin(); ok {
		return c
	}
	return p.up()
}
