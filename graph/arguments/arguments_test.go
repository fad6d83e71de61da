package arguments

import (
	"context"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// A field's arguments are made once for the operation run with the
// context, whoever reads them and from however many goroutines; another
// operation makes its own.
func TestArgumentsMadeOncePerOperation(t *testing.T) {
	f := &ast.Field{Name: "units", Arguments: ast.ArgumentList{
		{Name: "first", Value: &ast.Value{Kind: ast.Variable, Raw: "n"}},
	}, Definition: &ast.FieldDefinition{Name: "units", Arguments: ast.ArgumentDefinitionList{
		{Name: "first", Type: ast.NamedType("Int", nil)},
	}}}
	vars := map[string]any{"n": int64(20)}
	ctx := WithMaps(context.Background())
	first := Of(ctx, f, vars)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := Of(ctx, f, vars); got["first"] != int64(20) {
				t.Errorf("first %v, want 20", got["first"])
			}
		}()
	}
	wg.Wait()
	first["marker"] = true // the map is shared: the next read sees it
	if _, ok := Of(ctx, f, vars)["marker"]; !ok {
		t.Error("the operation's arguments made again")
	}
	if _, ok := Of(WithMaps(context.Background()), f, map[string]any{"n": int64(5)})["marker"]; ok {
		t.Error("another operation read this one's arguments")
	}
}
