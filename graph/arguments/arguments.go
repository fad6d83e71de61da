// Package arguments holds the arguments of an operation's fields, with
// its variables, made once per field for the request.
package arguments

import (
	"context"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// argumentMaps holds each field's arguments, with the operation's variables,
// for one request: made once per field of the document, for guard's
// walkers (Limits, PageSize and FilterAccess each read them) and for the
// executor (graph/gen makes each field's context take its arguments here,
// and graph's folds and the answer cache read them too).
// ast.Field.ArgumentMap builds a new map, converting every value, on every
// call: the walkers' four calls a field were 9% of the bytes a phone lookup
// allocated, and the executor made them again for each row's nested field
// (a customer's visits). Root fields may run at once: the map has a lock.
type argumentMaps struct {
	mu sync.Mutex
	of map[*ast.Field]map[string]any
}

type argumentsKey struct{}

// WithMaps returns ctx carrying an empty argumentMaps for the operation
// made and run with it (guard.Execute).
func WithMaps(ctx context.Context) context.Context {
	return context.WithValue(ctx, argumentsKey{}, &argumentMaps{of: map[*ast.Field]map[string]any{}})
}

// Of returns f.ArgumentMap(vars), made once per field for the operation
// run with ctx (vars must be its variables); without WithMaps in ctx (a
// walker called on its own, an operation over a WebSocket), each time. The
// map is shared: callers only read it.
func Of(ctx context.Context, f *ast.Field, vars map[string]any) map[string]any {
	maps, _ := ctx.Value(argumentsKey{}).(*argumentMaps)
	if maps == nil {
		return f.ArgumentMap(vars)
	}
	maps.mu.Lock()
	args, ok := maps.of[f]
	maps.mu.Unlock()
	if !ok {
		args = f.ArgumentMap(vars)
		maps.mu.Lock()
		maps.of[f] = args
		maps.mu.Unlock()
	}
	return args
}
