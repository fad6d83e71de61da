package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"

	"estatecrm/rule"
)

// batched gives every response its own batches of reads (see
// rule.SameAsBatched, batchedMedia): a page of customers asks for the
// sameAs of all of them in one statement, a page of projects for their media. A subscription's events each get fresh ones, so
// nothing read for one event answers the next.
type batched struct{ graphql.ExecutableSchema }

// Exec implements graphql.ExecutableSchema.
func (s batched) Exec(ctx context.Context) graphql.ResponseHandler {
	next := s.ExecutableSchema.Exec(ctx)
	return func(ctx context.Context) *graphql.Response {
		return next(withMediaBatch(rule.WithSameAsBatch(ctx)))
	}
}
