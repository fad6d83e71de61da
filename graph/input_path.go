package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// An input's path (the argument, the input fields and list indexes down to
// a value) is read by one thing only: the error a value that does not
// decode returns (graphql.ErrorOnPath). gqlgen's decoders made a path
// context for every argument, input field and list element they decoded,
// two allocations each, on every request. The decoders graph/gen rewrites
// (pathsOnError) and processArgField decode without them and, when a value
// fails, decode it again below its path: the error then carries the whole
// path, each level having decoded again with its own element. Decoding is
// a function of the value alone (the input resolvers, hasProjectWith and
// the like, only add predicates to the value being decoded), so the second
// run fails as the first did.

// decodeErrorAt decodes v again below ctx's path at elem and returns its
// error, or err, the first run's, should the second not fail.
func decodeErrorAt[T any](ctx context.Context, elem *graphql.PathContext, v any, decode func(context.Context, any) (T, error), err error) error {
	if _, again := decode(graphql.WithPathContext(ctx, elem), v); again != nil {
		return again
	}
	return err
}

// processArgField is graphql.ProcessArgField, the argument's name put on
// the path only for a value that does not decode.
func processArgField[T any](ctx context.Context, rawArgs map[string]any, fieldName string, decode func(context.Context, any) (T, error)) (T, error) {
	value, exists := rawArgs[fieldName]
	if !exists {
		var zero T
		return zero, nil
	}
	res, err := decode(ctx, value)
	if err != nil {
		return res, decodeErrorAt(ctx, graphql.NewPathWithField(fieldName), value, decode, err)
	}
	return res, nil
}
