package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"estatecrm/auth"
)

// payloadViewer holds the viewer a mutation's payload is read as, once the
// mutation has made it.
type payloadViewer struct{ v *auth.Viewer }

type payloadViewerKey struct{}

// readsAsItsUser lists the mutations whose payload is read as the user the
// mutation made: activateOwner is called by someone with no login yet (the
// activation code is their credential), and its payload, the homeowner's
// user { customer { deals … } }, is theirs to read; read as the anonymous
// caller it was UNAUTHENTICATED, and the error rolled the new login back.
var readsAsItsUser = map[string]bool{"activateOwner": true}

// PayloadViewer is an operation interceptor (handler.Server.Use): in a
// mutation one of whose root fields is in readsAsItsUser, it puts
// payloadField around every field resolver of the operation, so that the
// rest of that root field's payload is read as the viewer the resolver
// named (readPayloadAs). Every other operation (every query, every
// subscription, any other mutation) runs with no such middleware: nothing
// of it runs per field. It was a field middleware of every request, which
// looked the context up twice for each field of each query.
type PayloadViewer struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = PayloadViewer{}

// ExtensionName implements graphql.HandlerExtension.
func (PayloadViewer) ExtensionName() string { return "PayloadViewer" }

// Validate implements graphql.HandlerExtension.
func (PayloadViewer) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (PayloadViewer) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	oc := graphql.GetOperationContext(ctx)
	if oc == nil || oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return next(ctx)
	}
	for _, f := range graphql.CollectFields(oc, oc.Operation.SelectionSet, []string{"Mutation"}) {
		if readsAsItsUser[f.Name] {
			inner := oc.ResolverMiddleware
			oc.ResolverMiddleware = func(ctx context.Context, next graphql.Resolver) (any, error) {
				return payloadField(ctx, func(ctx context.Context) (any, error) { return inner(ctx, next) })
			}
			break
		}
	}
	return next(ctx)
}

// payloadField, under a root field of readsAsItsUser, reads the rest of the
// payload as the viewer the resolver named (readPayloadAs), through the
// privacy rules as that viewer would after signing in: no more than their
// own records. Until the resolver names one, or if it fails, the caller's
// viewer stays.
func payloadField(ctx context.Context, next graphql.Resolver) (any, error) {
	if pv, ok := ctx.Value(payloadViewerKey{}).(*payloadViewer); ok {
		if pv.v != nil {
			ctx = auth.NewContext(ctx, pv.v)
		}
		return next(ctx)
	}
	if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Object == "Mutation" && readsAsItsUser[fc.Field.Name] {
		return next(context.WithValue(ctx, payloadViewerKey{}, &payloadViewer{}))
	}
	return next(ctx)
}

// readPayloadAs names the viewer the payload of the current root field is
// read as (see PayloadViewer); outside such a field it does nothing.
func readPayloadAs(ctx context.Context, v *auth.Viewer) {
	if pv, ok := ctx.Value(payloadViewerKey{}).(*payloadViewer); ok {
		pv.v = v
	}
}
