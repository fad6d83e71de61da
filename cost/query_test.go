package cost_test

import (
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"estatecrm/cost"
	"estatecrm/graph"
)

// TestRequested: the cost of an operation is the objects its answer can
// hold, connections and paged lists multiplied by their page size.
func TestRequested(t *testing.T) {
	schema := graph.NewSchema(graph.Deps{}).Schema()
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		want        int
	}{
		{"only scalars: the least", `{ __typename }`, nil, 1},
		{"one object", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": "x"}, 1},
		// units 1 + 20 × (edge 1 + node 1 + project 1) + pageInfo 1
		{"a connection", `{ units(first: 20) { totalCount edges { cursor node { id number project { name } } } pageInfo { hasNextPage } } }`, nil, 62},
		{"edges without nodes", `{ units(first: 20) { edges { cursor } } }`, nil, 21},
		{"last", `{ units(last: 5) { edges { node { id } } } }`, nil, 11},
		{"a page size from a variable", `query($n: Int) { units(first: $n) { edges { node { id } } } }`, map[string]any{"n": 7}, 15},
		{"no page size: the default", `{ units { edges { node { id } } } }`, nil, 1 + 2*cost.DefaultPageSize},
		// projects 1 + 10 × (edge 1 + node 1 + units 1 + 10 × (edge 1 + node 1))
		{"nested connections multiply", `{ projects(first: 10) { edges { node { units(first: 10) { edges { node { id } } } } } } }`, nil, 1 + 10*(3+10*2)},
		{"a fragment counts where spread",
			`fragment U on Unit { id project { name } } { a: units(first: 2) { edges { node { ...U } } } b: units(first: 3) { edges { node { ...U } } } }`, nil,
			(1 + 2*3) + (1 + 3*3)},
		{"a fragment on the connection takes its page size",
			`fragment C on UnitConnection { edges { node { id } } } { units(first: 4) { ...C } }`, nil, 1 + 4*2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(schema, tc.query)
			if errs != nil {
				t.Fatal(errs)
			}
			if got := cost.Requested(doc, doc.Operations[0], tc.vars); got != tc.want {
				t.Fatalf("requested %d, want %d", got, tc.want)
			}
		})
	}
}

// TestRequestedIsLinearInFragments: a document of fragments each spreading
// the next twice (2^40 objects once expanded) measures at once, at a capped
// cost. (Parsed without validation, as the shape matters, not the types.)
func TestRequestedIsLinearInFragments(t *testing.T) {
	q := `{ units(first: 100) { nodes { ...F0 } } }`
	for i := range 40 {
		q += " fragment F" + itoa(i) + " on Unit { project { id } a: building { ...F" + itoa(i+1) + " } b: building { ...F" + itoa(i+1) + " } }"
	}
	q += " fragment F40 on Unit { id }"
	doc, err := parser.ParseQuery(&ast.Source{Input: q})
	if err != nil {
		t.Fatal(err)
	}
	if got := cost.Requested(doc, doc.Operations[0], nil); got < 1<<30 {
		t.Fatalf("requested %d, want it saturated", got)
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestActual counts the objects an answer holds, data itself not counted,
// braces inside strings not either.
func TestActual(t *testing.T) {
	for _, tc := range []struct {
		data string
		want int
	}{
		{`null`, 1},
		{`{"__typename":"Query"}`, 1},
		{`{"units":{"edges":[{"node":{"id":"x","project":{"name":"a{\"}{"}}}],"pageInfo":{"hasNextPage":false}}}`, 5},
		{`{"units":{"nodes":[]}}`, 1},
		{`{"units":{"nodes":[{"id":"1"},{"id":"2"},null]}}`, 3},
	} {
		if got := cost.Actual([]byte(tc.data)); got != tc.want {
			t.Errorf("Actual(%s) = %d, want %d", tc.data, got, tc.want)
		}
	}
}
