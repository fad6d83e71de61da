package api

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"

	"estatecrm/graph/guard"
)

// The generated executor marshals plain fields without gqlgen's field
// middleware (graph/gen): no extension of the server may intercept fields.
func TestNoFieldInterceptor(t *testing.T) {
	for _, e := range guard.Extensions(guard.DefaultLimits()) {
		if _, ok := e.(graphql.FieldInterceptor); ok {
			t.Errorf("guard.Install's %s intercepts fields", e.ExtensionName())
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("use accepted an extension that intercepts fields")
		}
	}()
	use(handler.New(nil), fieldCounter{})
}

// fieldCounter is an extension that intercepts every field.
type fieldCounter struct{}

func (fieldCounter) ExtensionName() string                   { return "FieldCounter" }
func (fieldCounter) Validate(graphql.ExecutableSchema) error { return nil }
func (fieldCounter) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	return next(ctx)
}
