package graph

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// A field's arguments are decoded once for its document only when they
// cannot differ between requests: literals of scalars, enums and orderings.
// A variable, or a where input (whose fields' resolvers read the viewer and
// the clock), is decoded in each request.
func TestConstantArgumentsAreLiteralsOfPlainTypes(t *testing.T) {
	const doc = `query($n: Int, $d: String, $o: [VisitOrder!]) {
	  constant: customers(first: 10) { edges { node {
	    latest: visits(first: 5, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { totalCount }
	    byVariable: visits(first: $n) { totalCount }
	    orderByVariable: visits(first: 5, orderBy: $o) { totalCount }
	    deals(first: 3) { totalCount }
	  } } }
	  literalWhere: customers(first: 10, where: {phoneLast4: "0001"}) { totalCount }
	  variableInWhere: customers(first: 10, where: {phoneLast4: $d}) { totalCount }
	  units(first: 5, where: {status: AVAILABLE}) { totalCount }
	  noArguments: customers { totalCount }
	}`
	q, err := gqlparser.LoadQuery(parsedSchema, doc)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]*ast.Field{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, s := range set {
			if f, ok := s.(*ast.Field); ok {
				fields[f.Alias] = f
				walk(f.SelectionSet)
			}
		}
	}
	walk(q.Operations[0].SelectionSet)
	for alias, want := range map[string]bool{
		"constant": true, "latest": true, "deals": true, "noArguments": true,
		"byVariable": false, "orderByVariable": false, "literalWhere": false, "variableInWhere": false, "units": false,
	} {
		f := fields[alias]
		if f == nil {
			t.Fatalf("no field %s", alias)
		}
		if got := constantArguments(parsedSchema, f); got != want {
			t.Errorf("%s: constant %v, want %v", alias, got, want)
		}
	}
}
