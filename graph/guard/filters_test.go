package guard_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
	"estatecrm/graph"
	"estatecrm/graph/guard"
)

// stringList returns n strings, as a list variable.
func stringList(n int) []any {
	l := make([]any, n)
	for i := range l {
		l[i] = fmt.Sprint("name", i)
	}
	return l
}

// nested returns a filter of `not` nested n deep around {name: "x"}.
func nested(n int) map[string]any {
	w := map[string]any{"name": "x"}
	for range n - 1 {
		w = map[string]any{"not": w}
	}
	return w
}

// literalList writes n strings as a GraphQL list literal.
func literalList(n int) string {
	var b strings.Builder
	b.WriteString("[")
	for i := range n {
		fmt.Fprintf(&b, "%q ", fmt.Sprint("name", i))
	}
	return b.String() + "]"
}

// refusal runs the limits over query and returns the refusal's field and
// message, "" and "" if it passes.
func refusal(t *testing.T, l guard.Limits, query string, vars map[string]any) (field, msg string) {
	t.Helper()
	err := l.MutateOperationContext(context.Background(), operation(t, query, vars, true))
	if err == nil {
		return "", ""
	}
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.BadUserInput || len(err.Locations) != 1 {
		t.Fatalf("want a located BAD_USER_INPUT, got %#v", err)
	}
	return e.Field, e.Message
}

// The filters of issue 9 §1: sent as variables, a 38,000-term `or`, a
// 70,000-item `nameIn` and a `not` 9,000 deep reached the database; every
// list, nesting and the terms of an operation's filters are bounded now,
// written in the document or sent as variables.
func TestFilterSizeIsBounded(t *testing.T) {
	orOf := func(n int) map[string]any {
		or := make([]any, n)
		for i := range or {
			or[i] = map[string]any{"nameContains": fmt.Sprint(i)}
		}
		return map[string]any{"or": or}
	}
	byVar := `query($w: ProjectWhereInput) { projects(first: 10, where: $w) { totalCount } }`
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		field, msg  string // the refusal, "" for none
	}{
		{"an or of 38,000 terms", byVar, map[string]any{"w": orOf(38000)}, "where.or", "where.or has 38000 items; the most is 100"},
		{"an or of 100 terms", byVar, map[string]any{"w": orOf(100)}, "", ""},
		{"nameIn of 70,000", byVar, map[string]any{"w": map[string]any{"nameIn": stringList(70000)}}, "where.nameIn", "where.nameIn has 70000 items; the most is 100"},
		{"nameIn of 100", byVar, map[string]any{"w": map[string]any{"nameIn": stringList(100)}}, "", ""},
		{"a list deep inside", byVar, map[string]any{"w": map[string]any{"and": []any{map[string]any{"hasUnitsWith": []any{map[string]any{"numberIn": stringList(101)}}}}}},
			"where.and.0.hasUnitsWith.0.numberIn", "where.and.0.hasUnitsWith.0.numberIn has 101 items; the most is 100"},
		{"a literal list", `{ projects(first: 10, where: {nameIn: ` + literalList(101) + `}) { totalCount } }`, nil,
			"where.nameIn", "where.nameIn has 101 items; the most is 100"},
		{"not 9,000 deep", byVar, map[string]any{"w": nested(9000)}, "where.not.not.not.not.not.not", "where nests deeper than 6"},
		{"not 6 deep", byVar, map[string]any{"w": nested(6)}, "", ""},
		{"not 7 deep, literal", `{ projects(first: 10, where: {not: {not: {not: {not: {not: {not: {name: "x"}}}}}}}) { totalCount } }`, nil,
			"where.not.not.not.not.not.not", "where nests deeper than 6"},
		{"an edge counts as nesting", byVar, map[string]any{"w": map[string]any{"not": map[string]any{"hasUnitsWith": []any{nested(5)}}}},
			"where.not.hasUnitsWith.0.not.not.not.not", "where nests deeper than 6"},
		{"too many terms", byVar, map[string]any{"w": map[string]any{"or": []any{
			map[string]any{"nameIn": stringList(100)}, map[string]any{"cityIn": stringList(100)}, map[string]any{"districtIn": stringList(1)}}}},
			"where", "201 filter terms are over the limit of 200"},
		{"terms add up over the operation", `query($a: [String!], $b: [String!], $c: [String!]) {
			a: projects(first: 1, where: {nameIn: $a}) { totalCount }
			b: projects(first: 1, where: {nameIn: $b}) { totalCount }
			c: projects(first: 1, where: {nameIn: $c}, orderBy: [{field: NAME}]) { totalCount } }`,
			map[string]any{"a": stringList(100), "b": stringList(99), "c": stringList(1)},
			"where", "201 filter terms are over the limit of 200"},
		{"any list argument", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": stringList(101)},
			"ids", "ids has 101 items; the most is 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			field, msg := refusal(t, guard.DefaultLimits(), tc.query, tc.vars)
			if field != tc.field || msg != tc.msg {
				t.Fatalf("refused at %q with %q, want %q with %q", field, msg, tc.field, tc.msg)
			}
		})
	}
}

// Each term of a filter costs 1, multiplied like the field that takes it.
func TestFilterTermsCost(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		cost        int
	}{
		{"a term per value", `{ projects(first: 10, where: {nameIn: ["a", "b"], city: "杭州"}) { totalCount } }`, nil, 1 + 3 + 1},
		{"variables count too", `query($w: ProjectWhereInput) { projects(first: 10, where: $w) { totalCount } }`,
			map[string]any{"w": map[string]any{"or": []any{map[string]any{"nameContains": "a"}, map[string]any{"nameContains": "b"}}}}, 1 + 2 + 1},
		{"an order is a term", `{ projects(first: 10, orderBy: [{field: NAME, direction: DESC}]) { totalCount } }`, nil, 1 + 2 + 1},
		// projects 1 + 10 × (edges 1 + node 1 + units (1 + 2 terms + totalCount 1))
		{"multiplied by the page", `{ projects(first: 10) { edges { node { units(first: 5, where: {floorIn: [1, 2]}) { totalCount } } } } }`, nil, 1 + 10*(1+1+1+2+1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg, cost := check(t, guard.DefaultLimits(), tc.query, tc.vars); msg != "" || cost.Requested != tc.cost {
				t.Fatalf("refused %q, cost %d, want %d", msg, cost.Requested, tc.cost)
			}
		})
	}
}

// access runs FilterAccess over query as v.
func access(t *testing.T, v *auth.Viewer, query string, vars map[string]any) *gqlerror.Error {
	t.Helper()
	a := &guard.FilterAccess{}
	if err := a.Validate(graph.NewExecutableSchema(graph.Config{})); err != nil {
		t.Fatal(err)
	}
	ctx := graphql.WithOperationContext(context.Background(), &graphql.OperationContext{})
	return a.MutateOperationContext(auth.NewContext(ctx, v), operation(t, query, vars, true))
}

// The leaks of issue 9 §3, each through another path: a filter or order on
// a field the viewer does not read on every row is refused, FORBIDDEN,
// naming the argument, however it is written.
func TestFilterAccess(t *testing.T) {
	agent := &auth.Viewer{UserID: "US1", Role: auth.RoleAgent, ProjectIDs: []pulid.ID{"PJ1"}}
	manager := &auth.Viewer{UserID: "US2", Role: auth.RoleManager, ProjectIDs: []pulid.ID{"PJ1"}}
	owner := &auth.Viewer{UserID: "US3", Role: auth.RoleOwner, CustomerID: "CU1"}
	portal := &auth.Viewer{Role: auth.RolePortal}
	admin := &auth.Viewer{UserID: "US4", Role: auth.RoleAdmin}
	for _, tc := range []struct {
		name   string
		viewer *auth.Viewer
		query  string
		vars   map[string]any
		field  string // "" when allowed
	}{
		{"an agent's price search", agent, `{ deals(first: 1, where: {id: "DL1", priceGTE: "3000000"}) { totalCount } }`, nil, "where.priceGTE"},
		{"by variable", agent, `query($w: DealWhereInput) { deals(first: 1, where: $w) { totalCount } }`,
			map[string]any{"w": map[string]any{"discountBpLT": 100}}, "where.discountBpLT"},
		{"a variable inside a literal", agent, `query($p: Money) { deals(first: 1, where: {or: [{stage: RESERVED}, {depositGT: $p}]}) { totalCount } }`,
			map[string]any{"p": "1"}, "where.or.1.depositGT"},
		{"under not", agent, `{ deals(first: 1, where: {not: {priceIsNil: true}}) { totalCount } }`, nil, "where.not.priceIsNil"},
		{"an order", agent, `{ deals(first: 5, orderBy: [{field: RESERVED_AT}, {field: PRICE}]) { totalCount } }`, nil, "orderBy.1.field"},
		{"an order given alone", agent, `{ deals(first: 5, orderBy: {field: PRICE}) { totalCount } }`, nil, "orderBy.field"},
		{"an order on an edge", agent, `{ customers(first: 5) { edges { node { deals(first: 5, orderBy: {field: PRICE}) { totalCount } } } } }`, nil, "orderBy.field"},
		{"in a fragment", agent, `{ ...D } fragment D on Query { deals(first: 1, where: {price: "1"}) { totalCount } }`, nil, "where.price"},
		{"what an agent reads", agent, `{ deals(first: 1, where: {stage: RESERVED, agentID: "US1"}, orderBy: {field: RESERVED_AT}) { totalCount } }`, nil, ""},
		{"a manager reads the terms", manager, `{ deals(first: 1, where: {priceGTE: "1"}, orderBy: {field: PRICE}) { totalCount } }`, nil, ""},
		{"a homeowner reads their terms", owner, `{ deals(first: 1, where: {priceGTE: "1"}) { totalCount } }`, nil, ""},
		{"the rules of a project", portal, `{ projects(first: 1, where: {agentDiscountCapBpGT: 100}) { totalCount } }`, nil, "where.agentDiscountCapBpGT"},
		{"the rules, to a homeowner", owner, `{ projects(first: 1, where: {protectionDays: 30}) { totalCount } }`, nil, "where.protectionDays"},
		{"the rules, to staff", agent, `{ projects(first: 1, where: {holdMinutesGTE: 30}) { totalCount } }`, nil, ""},
		{"holds, through an edge", portal, `{ projects(first: 1, where: {hasUnitsWith: {holdExpiresAtNotNil: true}}) { totalCount } }`, nil, "where.hasUnitsWith.holdExpiresAtNotNil"},
		{"holds, on an edge connection", portal, `{ projects(first: 1) { edges { node { units(first: 1, where: {holdExpiresAtNotNil: true}) { totalCount } } } } }`, nil, "where.holdExpiresAtNotNil"},
		{"what a portal reads", portal, `{ units(first: 1, where: {status: AVAILABLE, listPriceGTE: "1", hasProjectWith: {city: "杭州"}}, orderBy: {field: LIST_PRICE}) { totalCount } }`, nil, ""},
		{"an admin reads everything", admin, `{ deals(first: 1, where: {priceGTE: "1"}) { totalCount } }`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := access(t, tc.viewer, tc.query, tc.vars)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Forbidden || e.Field != tc.field || len(err.Locations) != 1 {
				t.Fatalf("got %#v, want FORBIDDEN at %s", err, tc.field)
			}
		})
	}
}

// Every edge filter of every where input (hasUnits, hasUnitsWith) must be
// decoded by a resolver that scopes it to the rows the viewer may see
// (gqlgen.yml, graph/ent.resolvers.go): ent builds it as a subquery that
// the privacy rules never see. A new edge without one fails here.
func TestEveryEdgeFilterIsScoped(t *testing.T) {
	root := reflect.TypeFor[graph.ResolverRoot]()
	n := 0
	for _, def := range schema.Types {
		if !strings.HasSuffix(def.Name, "WhereInput") {
			continue
		}
		for _, f := range def.Fields {
			rest, ok := strings.CutPrefix(f.Name, "has")
			if !ok || rest == "" || !unicode.IsUpper(rune(rest[0])) {
				continue
			}
			n++
			m, ok := root.MethodByName(def.Name)
			if !ok || m.Type.NumOut() != 1 {
				t.Errorf("%s.%s is decoded without a resolver: list it in gqlgen.yml and scope it with rule.ScopeEdge or rule.ScopeHas", def.Name, f.Name)
				continue
			}
			if _, ok := m.Type.Out(0).MethodByName("H" + f.Name[1:]); !ok {
				t.Errorf("%s.%s is decoded without a resolver: list it in gqlgen.yml and scope it with rule.ScopeEdge or rule.ScopeHas", def.Name, f.Name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no edge filter found: is the schema loaded?")
	}
	t.Logf("%d edge filters, each scoped", n)
}

// What the filter checks add to the listing request of SPEC.md §6 (20
// available units of a project in a price range, ordered by price), as a
// portal: measured, not asserted.
func BenchmarkFilterChecks(b *testing.B) {
	t := &testing.T{}
	q := `query($p: ID!, $lo: Money!, $hi: Money!) { units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $lo, listPriceLT: $hi}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number listPrice project { name } } } } }`
	vars := map[string]any{"p": "PJ1", "lo": "3000000", "hi": "5000000"}
	rc := operation(t, q, vars, true)
	a := &guard.FilterAccess{}
	if err := a.Validate(graph.NewExecutableSchema(graph.Config{})); err != nil {
		b.Fatal(err)
	}
	ctx := auth.NewContext(context.Background(), &auth.Viewer{Role: auth.RolePortal})
	l := guard.DefaultLimits()
	for _, step := range []struct {
		name string
		run  func() *gqlerror.Error
	}{
		{"variables", func() *gqlerror.Error { return l.MutateOperationParameters(ctx, &graphql.RawParams{Variables: vars}) }},
		{"limits", func() *gqlerror.Error { return l.MutateOperationContext(ctx, rc) }},
		{"access", func() *gqlerror.Error { return a.MutateOperationContext(ctx, rc) }},
	} {
		b.Run(step.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := step.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
