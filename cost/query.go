package cost

import (
	"encoding/json"
	"math"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// DefaultPageSize is the page size a connection is counted at when it is
// given neither `first` nor `last` (the API's page-size cap).
const DefaultPageSize = 100

// saturated caps costs, which grow exponentially with nesting.
const saturated = math.MaxInt32

func add(a, b int) int { return min(a+b, saturated) }

func mul(a, b int) int {
	if a != 0 && b > saturated/a {
		return saturated
	}
	return min(a*b, saturated)
}

// Requested returns the most op can cost (see the package doc): the objects
// its answer can hold, at least 1. vars are the operation's variables, which
// may give page sizes. Each fragment is measured once per page size it is
// spread under, so the time taken is linear in the document.
func Requested(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) int {
	w := &walker{doc: doc, vars: vars, memo: map[fragKey]int{}, visiting: map[string]bool{}}
	return max(1, w.set(op.SelectionSet, 0))
}

type fragKey struct {
	name  string
	inner int
}

type walker struct {
	doc      *ast.QueryDocument
	vars     map[string]any
	memo     map[fragKey]int
	visiting map[string]bool
}

// set is the cost of a selection set. inner is the page size of the
// connection it belongs to (0 outside one): its edges and nodes lists hold
// that many items.
func (w *walker) set(set ast.SelectionSet, inner int) int {
	c := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			c = add(c, w.field(s, inner))
		case *ast.InlineFragment:
			c = add(c, w.set(s.SelectionSet, inner))
		case *ast.FragmentSpread:
			c = add(c, w.fragment(s, inner))
		}
	}
	return c
}

func (w *walker) fragment(s *ast.FragmentSpread, inner int) int {
	k := fragKey{s.Name, inner}
	if c, ok := w.memo[k]; ok {
		return c
	}
	def := s.Definition
	if def == nil && w.doc != nil {
		def = w.doc.Fragments.ForName(s.Name)
	}
	if def == nil || w.visiting[s.Name] { // a cycle: validation refuses them
		return 0
	}
	w.visiting[s.Name] = true
	c := w.set(def.SelectionSet, inner)
	delete(w.visiting, s.Name)
	w.memo[k] = c
	return c
}

func (w *walker) field(f *ast.Field, inner int) int {
	if len(f.SelectionSet) == 0 { // a scalar or an enum (validation asks a selection of any object)
		return 0
	}
	if f.Definition == nil || f.Definition.Type == nil {
		return add(1, w.set(f.SelectionSet, 0))
	}
	t := f.Definition.Type
	size, paged := w.pageSize(f)
	if strings.HasSuffix(t.Name(), "Connection") && t.Elem == nil {
		if !paged {
			size = DefaultPageSize
		}
		return add(1, w.set(f.SelectionSet, size)) // edges and nodes hold size items each
	}
	per := add(1, w.set(f.SelectionSet, 0))
	switch {
	case t.Elem == nil:
		return per
	case paged:
		return mul(size, per)
	case inner > 0: // a connection's edges or nodes
		return mul(inner, per)
	}
	return per // a list without a page size counts as one item
}

// pageSize reads `first` and `last`: the larger, and whether either is given.
func (w *walker) pageSize(f *ast.Field) (int, bool) {
	if f.Definition.Arguments.ForName("first") == nil && f.Definition.Arguments.ForName("last") == nil {
		return 0, false
	}
	args := f.ArgumentMap(w.vars)
	first, hasFirst := intArg(args, "first")
	last, hasLast := intArg(args, "last")
	if !hasFirst && !hasLast {
		return 0, false
	}
	return max(first, last, 0), true
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

// Actual returns the cost of an answer: the objects its data holds (data
// itself not counted), at least 1. The schema's scalars are all strings,
// numbers and booleans, so every JSON object below data is a GraphQL object.
func Actual(data []byte) int {
	n, inString, escaped := 0, false, false
	for _, c := range data {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{':
			n++
		}
	}
	return max(1, n-1)
}
