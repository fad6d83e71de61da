package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// marshalInOrder marshals a list of length elements one after the other on
// the caller's goroutine. The generated executor calls it where gqlgen
// writes graphql.MarshalSliceConcurrently (see graph/gen), with the same
// arguments; the worker limit means nothing here. As there, each element
// gets a field context holding its index, so that an error under it has the
// index in its path, and a panic while marshalling an element (unless
// omitPanicHandler) makes that element null with an error, the others
// unharmed.
func marshalInOrder(ctx context.Context, length int, _ int64, omitPanicHandler bool, marshal func(ctx context.Context, i int) graphql.Marshaler) graphql.Array {
	ret := make(graphql.Array, length)
	if length == 0 {
		return ret
	}
	// The elements' field contexts and indices in two allocations, not two
	// per element.
	fcs := make([]graphql.FieldContext, length)
	index := make([]int, length)
	for i := range length {
		index[i] = i
		fcs[i].Index = &index[i]
		ret[i] = marshalElement(graphql.WithFieldContext(ctx, &fcs[i]), i, omitPanicHandler, marshal)
	}
	return ret
}

func marshalElement(ctx context.Context, i int, omitPanicHandler bool, marshal func(ctx context.Context, i int) graphql.Marshaler) (m graphql.Marshaler) {
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(ctx, graphql.Recover(ctx, r))
				m = graphql.Null
			}
		}()
	}
	return marshal(ctx, i)
}
