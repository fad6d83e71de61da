package graph

import (
	"context"
	"reflect"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// PayloadViewer puts its field middleware only on a mutation that names a
// root field of readsAsItsUser (aliased or in a fragment): every other
// operation keeps the server's field middleware as it is, so nothing of
// PayloadViewer runs per field of a query.
func TestPayloadViewerOnlyWrapsItsMutations(t *testing.T) {
	server := func(ctx context.Context, next graphql.Resolver) (any, error) { return next(ctx) }
	field := func(name, alias string) *ast.Field { return &ast.Field{Name: name, Alias: alias} }
	for _, tc := range []struct {
		name  string
		op    ast.Operation
		sel   ast.SelectionSet
		wraps bool
	}{
		{"a query", ast.Query, ast.SelectionSet{field("units", "units"), field("node", "activateOwner")}, false},
		{"a subscription", ast.Subscription, ast.SelectionSet{field("unitChanged", "unitChanged")}, false},
		{"another mutation", ast.Mutation, ast.SelectionSet{field("holdUnit", "holdUnit"), field("releaseUnit", "activateOwner")}, false},
		{"activateOwner", ast.Mutation, ast.SelectionSet{field("activateOwner", "activateOwner")}, true},
		{"activateOwner aliased after another", ast.Mutation, ast.SelectionSet{field("holdUnit", "holdUnit"), field("activateOwner", "a")}, true},
		{"activateOwner in an inline fragment", ast.Mutation, ast.SelectionSet{&ast.InlineFragment{
			TypeCondition: "Mutation", SelectionSet: ast.SelectionSet{field("activateOwner", "activateOwner")}}}, true},
	} {
		oc := &graphql.OperationContext{
			Operation:          &ast.OperationDefinition{Operation: tc.op, SelectionSet: tc.sel},
			ResolverMiddleware: server,
		}
		ran := false
		PayloadViewer{}.InterceptOperation(graphql.WithOperationContext(context.Background(), oc),
			func(context.Context) graphql.ResponseHandler { ran = true; return nil })
		wrapped := reflect.ValueOf(oc.ResolverMiddleware).Pointer() != reflect.ValueOf(server).Pointer()
		if !ran || wrapped != tc.wraps {
			t.Errorf("%s: ran %v, field middleware wrapped %v, want %v", tc.name, ran, wrapped, tc.wraps)
		}
	}
}

// BenchmarkPayloadField is what the payload middleware cost each field of
// every query while it was a field middleware of every request (two
// lookups in a context some twenty values deep), against no middleware,
// which is what a query now runs:
//
//	go test ./graph -run '^$' -bench PayloadField
func BenchmarkPayloadField(b *testing.B) {
	type key int
	ctx := context.Background()
	for i := range 20 {
		ctx = context.WithValue(ctx, key(i), i)
	}
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Object: "Unit", Field: graphql.CollectedField{Field: &ast.Field{Name: "number"}}})
	resolve := func(context.Context) (any, error) { return nil, nil }
	b.Run("middleware", func(b *testing.B) {
		for b.Loop() {
			_, _ = payloadField(ctx, resolve)
		}
	})
	b.Run("none", func(b *testing.B) {
		for b.Loop() {
			_, _ = resolve(ctx)
		}
	})
}
