package guard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"estatecrm/apperr"
	"estatecrm/graph"
	"estatecrm/graph/guard"
)

var schema = graph.NewExecutableSchema(graph.Config{}).Schema()

// operation parses and validates query as gqlgen would, leaving out the
// validator when it must not see the document (a fragment cycle).
func operation(t *testing.T, query string, vars map[string]any, validate bool) *graphql.OperationContext {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	if validate {
		if errs := validator.ValidateWithRules(schema, doc, rules.NewDefaultRules()); len(errs) > 0 {
			t.Fatal(errs)
		}
	}
	return &graphql.OperationContext{Doc: doc, Operation: doc.Operations[0], Variables: vars}
}

// check runs l over query and returns the refusal's message ("" if none) and
// the cost it recorded.
func check(t *testing.T, l guard.Limits, query string, vars map[string]any) (string, guard.Cost) {
	t.Helper()
	rc := operation(t, query, vars, true)
	err := l.MutateOperationContext(context.Background(), rc)
	cost, ok := guard.CostOf(graphql.WithOperationContext(context.Background(), rc))
	if !ok {
		t.Fatal("no cost recorded")
	}
	if err == nil {
		return "", cost
	}
	if e, ok := apperr.As(err); !ok || e.Code != apperr.BadUserInput || len(err.Locations) != 1 {
		t.Fatalf("want a located BAD_USER_INPUT, got %#v", err)
	}
	return err.Message, cost
}

func TestCost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		vars  map[string]any
		cost  int
	}{
		{"fields cost 1", `{ __typename a: __typename }`, nil, 2},
		// projects 1 + 100 × (edges 1 + node 1 + units (1 + 100 × 3))
		{"nested connections", `{ projects(first: 100) { edges { node { units(first: 100) { edges { node { id } } } } } } }`, nil, 30301},
		{"small pages", `{ projects(first: 10) { edges { node { units(first: 20) { edges { node { id } } } } } } }`, nil, 631},
		// totalCount and pageInfo are paid once per connection, edges and nodes per item.
		{"by variable", `query($n: Int) { units(last: $n) { totalCount edges { cursor } } }`, map[string]any{"n": 7}, 1 + 1 + 7*2},
		{"no page size", `{ units { totalCount edges { cursor } } }`, nil, 1 + 1 + 100*2},
		{"larger of first and last", `{ units(first: 3, last: 5) { totalCount edges { cursor } } }`, nil, 1 + 1 + 5*2},
		{"in a fragment spread twice", `{ a: node(id: "x") { ...P } b: node(id: "y") { ...P } }
			fragment P on Project { units(first: 10) { totalCount edges { node { id } } } }`, nil, 2 * (1 + 1 + 1 + 10*3)},
		{"a plain list is not multiplied", `{ nodes(ids: ["a", "b"]) { id } }`, nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, cost := check(t, guard.DefaultLimits(), tc.query, tc.vars)
			if cost.Requested != tc.cost || cost.Limit != 5000 {
				t.Fatalf("cost %+v, want %d of 5000", cost, tc.cost)
			}
			if (msg != "") != (tc.cost > 5000) {
				t.Fatalf("cost %d, refusal %q", tc.cost, msg)
			}
		})
	}
}

func TestLimitsAreRefusedAtTheirEdge(t *testing.T) {
	depth := func(n int) string { // node, then unit → project → units → edges → node …, then __typename: n deep
		steps := []string{"project", "units(first: 1)", "edges", "node"}
		q := "__typename"
		for i := n - 3; i >= 0; i-- {
			q = steps[i%len(steps)] + " { " + q + " }"
		}
		return `{ node(id: "x") { ... on Unit { ` + q + ` } } }`
	}
	aliases := func(n int) string {
		var b strings.Builder
		b.WriteString("{ ")
		for i := range n {
			fmt.Fprintf(&b, "a%d: __typename ", i)
		}
		return b.String() + "}"
	}
	directives := func(n int) string {
		var b strings.Builder
		b.WriteString("query($t: Boolean = true) { ")
		for range n {
			b.WriteString("__typename @include(if: $t) ")
		}
		return b.String() + "}"
	}
	for _, tc := range []struct {
		name     string
		ok, over string
		refusal  string
	}{
		{"depth", depth(10), depth(11), "query depth 11 is over the limit of 10"},
		{"aliases", aliases(15), aliases(16), "16 aliases are over the limit of 15"},
		{"directives", directives(50), directives(51), "51 directives are over the limit of 50"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg, _ := check(t, guard.DefaultLimits(), tc.ok, nil); msg != "" {
				t.Fatalf("at the limit: refused with %q", msg)
			}
			if msg, _ := check(t, guard.DefaultLimits(), tc.over, nil); msg != tc.refusal {
				t.Fatalf("over the limit: got %q, want %q", msg, tc.refusal)
			}
		})
	}
}

func TestWhatCounts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limits  guard.Limits
		query   string
		refusal string
	}{
		{"an alias equal to the name is no alias", guard.Limits{MaxAliases: 1},
			`{ __typename: __typename a: __typename }`, ""},
		{"a fragment's aliases count at each spread", guard.Limits{MaxAliases: 3},
			`{ x: node(id: "x") { ...A } y: node(id: "y") { ...A } } fragment A on Node { a: id }`,
			"4 aliases are over the limit of 3"},
		{"directives count where written, not where spread", guard.Limits{MaxDirectives: 2},
			`{ a: node(id: "x") { ...A } b: node(id: "y") { ...A } } fragment A on Node { id @skip(if: false) @include(if: true) }`, ""},
		{"directives count anywhere in the document", guard.Limits{MaxDirectives: 4},
			`query Q($t: Boolean = true) { ... @include(if: $t) @skip(if: false) { ...A @include(if: $t) } }
			 query Other { __typename @skip(if: false) }
			 fragment A on Query { __typename @include(if: true) }`,
			"5 directives are over the limit of 4"},
		{"fragments count for depth where spread", guard.Limits{MaxDepth: 3},
			`{ node(id: "x") { ...U } } fragment U on Unit { project { name } }`, ""},
		{"fragments count for depth where spread, over", guard.Limits{MaxDepth: 3},
			`{ node(id: "x") { ...U } } fragment U on Unit { project { units(first: 1) { totalCount } } }`,
			"query depth 4 is over the limit of 3"},
		{"__typename counts for depth", guard.Limits{MaxDepth: 1},
			`{ node(id: "x") { __typename } }`, "query depth 2 is over the limit of 1"},
		{"a negative limit is off", guard.Limits{MaxDepth: -1, MaxCost: -1},
			`{ projects(first: 100) { edges { node { units(first: 100) { edges { node { project { units(first: 100) { edges { node { project { units(first: 100) { totalCount } } } } } } } } } } } } }`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg, _ := check(t, tc.limits, tc.query, nil); msg != tc.refusal {
				t.Fatalf("got %q, want %q", msg, tc.refusal)
			}
		})
	}
}

// GraphiQL's introspection query nests `ofType` far past any depth limit;
// introspection is bounded by gqlparser's own rule instead.
func TestIntrospectionIsNotDepth(t *testing.T) {
	ref := "kind name"
	for range 9 {
		ref = "kind name ofType { " + ref + " }"
	}
	q := `{ __schema { types { ...T } } __type(name: "Project") { ...T } }
	fragment T on __Type { name fields(includeDeprecated: true) { name args { name type { ...R } } type { ...R } } }
	fragment R on __Type { ` + ref + ` }`
	if msg, _ := check(t, guard.DefaultLimits(), q, nil); msg != "" {
		t.Fatalf("introspection refused: %s", msg)
	}
}

// A document of n fragments each spreading the next twice expands to 2ⁿ
// fields: it must be measured in time linear in n and refused for its cost.
func TestFragmentBombIsMeasuredNotExpanded(t *testing.T) {
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	const n = 90
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { __typename }\n", n)
	start := time.Now()
	msg, cost := check(t, guard.DefaultLimits(), b.String(), nil)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("measuring took %v", d)
	}
	if !strings.HasPrefix(msg, "query cost over ") || cost.Requested < 1<<30 {
		t.Fatalf("want a refusal for cost, got %q, %+v", msg, cost)
	}
}

// The validator refuses fragment cycles before Limits sees them; Limits must
// still end if one gets through.
func TestFragmentCycleEnds(t *testing.T) {
	rc := operation(t, `{ ...A } fragment A on Query { __typename ...B } fragment B on Query { ...A }`, nil, false)
	if err := guard.DefaultLimits().MutateOperationContext(context.Background(), rc); err != nil {
		t.Fatal(err)
	}
}
