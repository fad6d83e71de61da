package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

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

// PayloadViewer is a field middleware (handler.Server.AroundFields): under
// a root field of readsAsItsUser it reads the rest of the payload as the
// viewer the resolver named (readPayloadAs), through the privacy rules as
// that viewer would after signing in: no more than their own records.
// Until the resolver names one, or if it fails, the caller's viewer stays.
func PayloadViewer(ctx context.Context, next graphql.Resolver) (any, error) {
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
