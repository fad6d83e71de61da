package guard

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// eachField calls visit on every field of set and of the fields under it,
// fragments included, and stops at the first error visit returns. Each
// fragment is walked once, however often it is spread: its fields and
// arguments are the same at every spread, and a document of fragments each
// spreading the next twice must not take exponential time. doc finds a
// fragment whose spread was not resolved (nil: such spreads are skipped).
func eachField(doc *ast.QueryDocument, set ast.SelectionSet, visit func(*ast.Field) *gqlerror.Error) *gqlerror.Error {
	seen := map[string]bool{}
	var walk func(ast.SelectionSet) *gqlerror.Error
	walk = func(set ast.SelectionSet) *gqlerror.Error {
		for _, sel := range set {
			var next ast.SelectionSet
			switch s := sel.(type) {
			case *ast.Field:
				if err := visit(s); err != nil {
					return err
				}
				next = s.SelectionSet
			case *ast.InlineFragment:
				next = s.SelectionSet
			case *ast.FragmentSpread:
				if seen[s.Name] {
					continue
				}
				seen[s.Name] = true
				def := s.Definition
				if def == nil && doc != nil {
					def = doc.Fragments.ForName(s.Name)
				}
				if def == nil {
					continue
				}
				next = def.SelectionSet
			}
			if err := walk(next); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(set)
}
