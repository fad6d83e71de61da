package guard

import (
	"context"

	"github.com/vektah/gqlparser/v2/ast"
)

// argumentMaps holds each field's arguments, with the operation's variables,
// for the walkers of one request. Limits, PageSize and FilterAccess each
// read them, and ast.Field.ArgumentMap builds a new map, converting every
// value, on every call: the walkers' four calls a field were 9% of the
// bytes a phone lookup allocated. The walkers run one after the other
// while the operation context is made, so the map needs no lock.
type argumentMaps map[*ast.Field]map[string]any

type argumentsKey struct{}

// withArgumentMaps returns ctx carrying an empty argumentMaps for the
// operation context made with it.
func withArgumentMaps(ctx context.Context) context.Context {
	return context.WithValue(ctx, argumentsKey{}, argumentMaps{})
}

// arguments returns f.ArgumentMap(vars), made once per field for the
// operation whose context ctx makes (vars are its variables); without
// withArgumentMaps in ctx (a walker called on its own), each time. The map
// is shared: callers only read it.
func arguments(ctx context.Context, f *ast.Field, vars map[string]any) map[string]any {
	maps, _ := ctx.Value(argumentsKey{}).(argumentMaps)
	if maps == nil {
		return f.ArgumentMap(vars)
	}
	args, ok := maps[f]
	if !ok {
		args = f.ArgumentMap(vars)
		maps[f] = args
	}
	return args
}
