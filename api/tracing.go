package api

import (
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/apperr"
	"estatecrm/tracing"
)

// traceRequests gives each request a server span carrying its request id
// (the log line's request_id), continuing the trace of an incoming W3C
// traceparent header; the resolvers and statements of the request hang
// from it (graph.Tracing, tracing.Driver). With no provider (tracing off)
// it is not there at all.
//
// Left out: probes and scrapes (/healthz, /readyz, /metrics), which would
// bury the requests in noise, and WebSockets, whose request lasts as long
// as the connection: each subscription on one gets a span of its own
// instead (tracing.WithConnection, graph.Tracing), with the connection's
// request id. Nothing a person sent goes on the span: no query
// string (signed links carry their signature there), no client address,
// no header but traceparent.
func traceRequests(tp trace.TracerProvider, next http.Handler) http.Handler {
	if tp == nil {
		return next
	}
	tracer := tracing.Tracer(tp)
	var carrier propagation.TraceContext
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := traceRoute(r)
		if route == "" {
			if isWebSocket(r) {
				ctx := carrier.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
				r = r.WithContext(tracing.WithConnection(ctx, tp, tracing.RequestIDKey.String(RequestID(ctx))))
			}
			next.ServeHTTP(w, r)
			return
		}
		ctx := carrier.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer.Start(ctx, r.Method+" "+route, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.HTTPRoute(route),
			semconv.URLPath(r.URL.Path),
			tracing.RequestIDKey.String(RequestID(ctx)),
		))
		defer span.End()
		sw := &spanWriter{ResponseWriter: w, span: span}
		next.ServeHTTP(sw, r.WithContext(ctx))
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
		if status >= 500 && !sw.failed {
			tracing.Fail(span, strconv.Itoa(status))
		}
	})
}

// traceRoute is the route of a request for its span's name, "" for one
// that gets no span.
func traceRoute(r *http.Request) string {
	if isWebSocket(r) {
		return ""
	}
	switch p := r.URL.Path; {
	case p == "/query", p == "/":
		return p
	case strings.HasPrefix(p, "/photos/"):
		return "/photos/{id}"
	case strings.HasPrefix(p, "/media/"):
		return "/media/{id}/{hash}"
	case p == "/healthz", p == "/readyz", p == "/metrics":
		return ""
	default:
		return "(other)" // a path someone made up names no span
	}
}

// spanWriter notes the status of the answer and carries the request's span
// down to writeError, so that an error answered outside GraphQL (a bad
// token, a rate limit, a body too large) is recorded by its code.
type spanWriter struct {
	http.ResponseWriter
	span   trace.Span
	status int
	failed bool
}

func (w *spanWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *spanWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing).
func (w *spanWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// traceError records code on the request's span, when a spanWriter is
// among the writers w wraps.
func traceError(w http.ResponseWriter, code apperr.Code) {
	for w != nil {
		if sw, ok := w.(*spanWriter); ok {
			tracing.Fail(sw.span, string(code))
			sw.failed = true
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
