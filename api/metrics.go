package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/apperr"
	"estatecrm/metrics"
)

// instrument counts the requests in flight and the open WebSockets (whose
// request lasts as long as the connection), and hands the writers below a
// metricsWriter so that errors answered outside GraphQL (writeError: a body
// too large, a bad token, a rate limit) are counted by code too. A scrape of
// /metrics is left out of the requests it reports.
func instrument(m *metrics.API, next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			next.ServeHTTP(w, r)
			return
		}
		g := m.InFlight
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			g = m.Sockets
		}
		g.Inc()
		defer g.Dec()
		next.ServeHTTP(&metricsWriter{ResponseWriter: w, m: m}, r)
	})
}

// metricsWriter carries the metrics down to writeError.
type metricsWriter struct {
	http.ResponseWriter
	m *metrics.API
}

// Unwrap lets http.ResponseController reach the connection (WebSockets, flushing).
func (w *metricsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// countError counts an error answered through w outside GraphQL, when a
// metricsWriter is among the writers w wraps.
func countError(w http.ResponseWriter, code apperr.Code) {
	for w != nil {
		if mw, ok := w.(*metricsWriter); ok {
			mw.m.Error(string(code))
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// operationMetrics times each GraphQL query and mutation by operation name
// and type, counts the errors of every answer by extensions.code, and the
// subscriptions running. It is the first extension, so its time includes
// the others' work (limits, the transaction's commit) and it sees the
// errors of the final answer, refusals before execution included.
type operationMetrics struct{ m *metrics.API }

var (
	_ graphql.OperationInterceptor = operationMetrics{}
	_ graphql.ResponseInterceptor  = operationMetrics{}
)

func (operationMetrics) ExtensionName() string                   { return "Metrics" }
func (operationMetrics) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation counts a subscription as running until its context
// ends: gqlgen cancels it however the subscription ends (completed by
// either side, the socket closed, a panic).
func (o operationMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
		o.m.Subscriptions.Inc()
		context.AfterFunc(ctx, o.m.Subscriptions.Dec)
	}
	return next(ctx)
}

// InterceptResponse counts the answer's errors and, for a query or a
// mutation, times it from the start of the request (gqlgen's
// OperationStart, before the document was parsed). A subscription's answers
// are events, whose timing says nothing about the server: only their errors
// count.
func (o operationMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp != nil {
		for _, e := range resp.Errors {
			code, _ := e.Extensions["code"].(string)
			o.m.Error(code)
		}
	}
	if !graphql.HasOperationContext(ctx) {
		return resp // refused before it had an operation: counted above, not timed
	}
	oc := graphql.GetOperationContext(ctx)
	if op := oc.Operation; op != nil && op.Operation != ast.Subscription {
		start := oc.Stats.OperationStart
		if start.IsZero() {
			return resp
		}
		o.m.Observe(op.Name, string(op.Operation), time.Since(start))
	}
	return resp
}
