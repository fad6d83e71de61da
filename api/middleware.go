package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/apperr"
	"estatecrm/graph/guard"
)

type requestInfoKey struct{}

// requestInfo is filled in as a request goes through the layers and logged
// once at the end.
type requestInfo struct {
	id        string
	operation string
}

func info(ctx context.Context) *requestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if ri := info(ctx); ri != nil {
		return ri.id
	}
	return ""
}

// requestID gives each request an id: the caller's X-Request-Id when it is
// sane, a new random one otherwise. It goes back in the response header.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !saneID(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestInfoKey{}, &requestInfo{id: id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (WebSockets, flushing).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one structured line per request, with its id, the
// GraphQL operation name and, when the request is traced, its trace id.
func logRequests(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !logger.Enabled(r.Context(), slog.LevelInfo) {
			// Production logs at warn: the line would be built, then dropped.
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		ri := info(r.Context())
		attrs := []slog.Attr{
			slog.String("request_id", ri.id),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Float64("ms", float64(time.Since(start).Microseconds())/1000),
		}
		if ri.operation != "" {
			attrs = append(attrs, slog.String("operation", ri.operation))
		}
		if sc := trace.SpanContextFromContext(r.Context()); sc.IsValid() { // traced: the line leads to the trace
			attrs = append(attrs, slog.String("trace_id", sc.TraceID().String()))
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// recoverPanics turns a panic outside GraphQL execution into a 500 that says
// nothing of the cause; the cause is logged.
func recoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic", "request_id", RequestID(r.Context()), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, http.StatusInternalServerError, apperr.Internal, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// recoverResolver logs a panic inside a resolver and reports it as internal.
func recoverResolver(logger *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, v any) error {
		logger.ErrorContext(ctx, "panic in resolver", "request_id", RequestID(ctx), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return errInternal
	}
}

var errInternal = errors.New("internal error")

// withTimeout bounds the work of a request by cancelling its context.
// WebSocket upgrades are long-lived by design and are left alone.
func withTimeout(d time.Duration, next http.Handler) http.Handler {
	if d <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		limit := d
		if (uploads{}).Supports(r) { // photos from a phone on mobile signal take a while to arrive
			limit = max(d, uploadTimeout)
		}
		ctx, cancel := context.WithTimeout(r.Context(), limit)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// limitBody reads a POST body up to max bytes before GraphQL sees it: a
// larger one is answered 413 at once.
func limitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil || (uploads{}).Supports(r) { // uploads stream, under their own limits
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			writeError(w, http.StatusRequestEntityTooLarge, apperr.BadUserInput,
				fmt.Sprintf("the request body is larger than %d bytes", max))
			return
		case err != nil:
			writeError(w, http.StatusBadRequest, apperr.BadUserInput, "the request body could not be read")
			return
		}
		// The GraphQL transport decodes these bytes, without a copy, and
		// answers a body that is not JSON with a coded error of its own.
		r.Body = guard.NewBody(body)
		next.ServeHTTP(w, r)
	})
}

// writeError answers with a GraphQL-shaped error outside GraphQL execution.
func writeError(w http.ResponseWriter, status int, code apperr.Code, msg string) {
	writeErrorExt(w, status, map[string]any{"code": code}, msg)
}

// writeInputError answers 400 BAD_USER_INPUT naming the request's field (a
// query parameter), as extensions.field does in GraphQL.
func writeInputError(w http.ResponseWriter, field, msg string) {
	writeErrorExt(w, http.StatusBadRequest, map[string]any{"code": apperr.BadUserInput, "field": field}, msg)
}

func writeErrorExt(w http.ResponseWriter, status int, ext map[string]any, msg string) {
	code, _ := ext["code"].(apperr.Code)
	countError(w, code)
	traceError(w, code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": msg, "extensions": ext}},
	})
}

// operationName records the GraphQL operation name for the request log.
type operationName struct{}

func (operationName) ExtensionName() string                   { return "OperationName" }
func (operationName) Validate(graphql.ExecutableSchema) error { return nil }
func (operationName) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	if ri := info(ctx); ri != nil {
		oc := graphql.GetOperationContext(ctx)
		ri.operation = oc.OperationName
		if ri.operation == "" && oc.Operation != nil {
			ri.operation = string(oc.Operation.Operation)
		}
	}
	return next(ctx)
}
