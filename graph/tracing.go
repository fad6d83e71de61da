package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/apperr"
	"estatecrm/tracing"
)

// Tracing is the GraphQL part of a request's trace (see package tracing):
// the request's span takes the operation's name and the codes of the
// answer's errors, and each resolver that touches the database gets a span
// of its own, parent of its statements. Fields read from a row already
// loaded get none. Installed only when tracing is on; under a request that
// is not sampled it does nothing.
type Tracing struct{}

var (
	_ graphql.OperationInterceptor = Tracing{}
	_ graphql.ResponseInterceptor  = Tracing{}
)

// ErrorCodesKey lists the extensions.code of an answer's errors on the
// request's span.
const ErrorCodesKey = attribute.Key("graphql.error.codes")

// FieldPathKey is the path of a resolver's field in the answer
// (units.edges.3.node.project).
const FieldPathKey = attribute.Key("graphql.field.path")

// maxOperationName bounds the operation name put in a span's name: the
// client chooses it.
const maxOperationName = 80

func (Tracing) ExtensionName() string                   { return "Tracing" }
func (Tracing) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation names the request's span after the operation
// ("query Listing"), as OpenTelemetry's GraphQL conventions do, and puts
// traceField around the operation's field resolvers. Like PayloadViewer,
// it installs that per operation, and only when the request is traced: a
// field interceptor of the server would cost every field of every request,
// sampled or not, a closure.
func (Tracing) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	span := trace.SpanFromContext(ctx)
	oc := graphql.GetOperationContext(ctx)
	if !span.IsRecording() && oc.Operation != nil && oc.Operation.Operation == ast.Subscription {
		// A subscription on a WebSocket: its span covers its start (the
		// resolver), not the hours it may stay open; see package tracing.
		var ok bool
		if ctx, span, ok = tracing.StartOperation(ctx, string(ast.Subscription)); ok {
			defer span.End()
		}
	}
	if !span.IsRecording() {
		return next(ctx)
	}
	inner := oc.ResolverMiddleware
	oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
		return traceField(ctx, func(ctx context.Context) (any, error) { return inner(ctx, next) })
	}
	if op := oc.Operation; op != nil {
		kind, name := string(op.Operation), op.Name
		if len(name) > maxOperationName {
			name = name[:maxOperationName]
		}
		span.SetAttributes(semconv.GraphQLOperationTypeKey.String(kind))
		if name != "" {
			span.SetAttributes(semconv.GraphQLOperationName(name))
			kind += " " + name
		}
		span.SetName(kind)
	}
	return next(ctx)
}

// InterceptResponse records the codes of the answer's errors on the
// request's span, which fails with the first.
func (Tracing) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) == 0 {
		return resp
	}
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return resp
	}
	codes := make([]string, 0, len(resp.Errors))
	for _, e := range resp.Errors {
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	span.SetAttributes(ErrorCodesKey.StringSlice(codes))
	tracing.Fail(span, codes[0])
	return resp
}

// traceField gives a resolver (or a method of an ent object, such as an
// edge) a pending span, begun by its first statement. Struct fields never
// touch the database and pass straight through.
func traceField(ctx context.Context, next graphql.Resolver) (res any, err error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver && !fc.IsMethod {
		return next(ctx)
	}
	ctx, p := tracing.Defer(ctx, fc.Object+"."+fc.Field.Name, func() []attribute.KeyValue {
		return []attribute.KeyValue{FieldPathKey.String(fc.Path().String())}
	})
	if p == nil {
		return next(ctx)
	}
	defer func() {
		if r := recover(); r != nil {
			p.End(string(apperr.Internal))
			panic(r) // gqlgen's recover answers it
		}
	}()
	res, err = next(ctx)
	code := ""
	if err != nil {
		code = errorCode(ctx, err)
		if fc.Object == "Subscription" { // a refused subscription: its span says so
			tracing.Fail(trace.SpanFromContext(ctx), code)
		}
	}
	p.End(code)
	return res, err
}

// errorCode is the extensions.code the error presenter gives err.
func errorCode(ctx context.Context, err error) string {
	code, _, _ := classify(err, graphql.DefaultErrorPresenter(ctx, err))
	return string(code)
}
