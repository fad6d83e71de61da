// Package guard holds the limits a GraphQL request must pass before it runs.
package guard

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/graph/arguments"
)

// MaxPageSize is the most items one connection may return.
const MaxPageSize = 100

// PageSize refuses, before anything runs, a connection asked for without
// `first` or `last`, with both, or with more than Max items: a client must
// say how much it wants, and no client gets an unbounded list.
type PageSize struct {
	Max int
	// Memo, when set, remembers the operations that passed (see Memo).
	Memo *Memo
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = PageSize{}

// ExtensionName implements graphql.HandlerExtension.
func (PageSize) ExtensionName() string { return "PageSize" }

// Validate implements graphql.HandlerExtension.
func (PageSize) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationContext implements graphql.OperationContextMutator.
func (p PageSize) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	memo := p.Memo.of(rc)
	if memo != nil && memo.pageSize.Load() {
		return nil
	}
	err := eachField(rc.Doc, rc.Operation.SelectionSet, func(f *ast.Field) *gqlerror.Error {
		if f.Definition == nil || !strings.HasSuffix(f.Definition.Type.Name(), "Connection") {
			return nil
		}
		return p.checkArgs(ctx, f, rc.Variables)
	})
	if err == nil && memo != nil {
		memo.pageSize.Store(true)
	}
	return err
}

func (p PageSize) checkArgs(ctx context.Context, f *ast.Field, vars map[string]any) *gqlerror.Error {
	args := arguments.Of(ctx, f, vars)
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	fail := func(field, format string, a ...any) *gqlerror.Error {
		e := gqlerror.Wrap(apperr.Input(f.Alias+"."+field, format, a...))
		errcode.Set(e, errcode.ValidationFailed) // answered like any invalid query (see guard.Execute)
		e.Locations = []gqlerror.Location{{Line: f.Position.Line, Column: f.Position.Column}}
		return e
	}
	for _, name := range []string{"first", "last"} {
		// gqlparser lets a JSON string through as an Int variable ("3"),
		// which is not a page size.
		if v, given := args[name]; given && v != nil {
			if _, isInt := intArg(args, name); !isInt {
				return fail(name, "%s: `%s` is not an Int", f.Alias, name)
			}
		}
	}
	switch {
	case !hasFirst && !hasLast:
		return fail("first", "%s needs `first` or `last` (at most %d)", f.Alias, p.Max)
	case hasFirst && hasLast:
		// A page is counted from one end: entgql refuses both with an error
		// of no code, which would have answered INTERNAL.
		return fail("last", "%s takes `first` or `last`, not both", f.Alias)
	case first > p.Max:
		return fail("first", "%s: `first` is %d; the most is %d", f.Alias, first, p.Max)
	case last > p.Max:
		return fail("last", "%s: `last` is %d; the most is %d", f.Alias, last, p.Max)
	case first < 0:
		return fail("first", "%s: page sizes cannot be negative", f.Alias)
	case last < 0:
		return fail("last", "%s: page sizes cannot be negative", f.Alias)
	}
	return nil
}

func intArg(args map[string]any, name string) (int, bool) {
	switch v := args[name].(type) {
	case int:
		return v, true
	case int64:
		return int(v), true
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}
