package guard

import (
	"context"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent/schema/pulid"
	"estatecrm/graph"
)

// memoChecks are the walkers as api installs them, sharing one Memo, run
// in api's order over one parsed and validated document, the way gqlgen
// runs them for each request of a cached document.
type memoChecks struct {
	t    *testing.T
	memo *Memo
	doc  *ast.QueryDocument
	exts []graphql.OperationContextMutator
}

func newMemoChecks(t *testing.T, query string) *memoChecks {
	t.Helper()
	s := graph.NewExecutableSchema(graph.Config{})
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatal(err)
	}
	if errs := validator.ValidateWithRules(s.Schema(), doc, rules.NewDefaultRules()); len(errs) > 0 {
		t.Fatal(errs)
	}
	m := NewMemo()
	m.Remember(doc)
	l := DefaultLimits()
	l.Memo = m
	fa := &FilterAccess{Memo: m}
	if err := fa.Validate(s); err != nil {
		t.Fatal(err)
	}
	return &memoChecks{t: t, memo: m, doc: doc, exts: []graphql.OperationContextMutator{
		l.withDefaults(), fa, Text{Memo: m}, NoIntrospection{Memo: m}, PageSize{Max: MaxPageSize, Memo: m}}}
}

// run runs the checks as v with vars, and returns the first refusal and
// the cost recorded.
func (c *memoChecks) run(v *auth.Viewer, vars map[string]any) (*gqlerror.Error, int) {
	c.t.Helper()
	rc := &graphql.OperationContext{Doc: c.doc, Operation: c.doc.Operations[0], Variables: vars}
	ctx := auth.NewContext(context.Background(), v)
	for _, e := range c.exts {
		if err := e.MutateOperationContext(ctx, rc); err != nil {
			return err, -1
		}
	}
	cost, _ := rc.Stats.GetExtension(costStat).(Cost)
	return nil, cost.Requested
}

func refusedAt(t *testing.T, err *gqlerror.Error, code apperr.Code, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != code || e.Field != field {
		t.Fatalf("got %#v, want %s at %s", err, code, field)
	}
}

var (
	memoAgent   = &auth.Viewer{UserID: "US1", Role: auth.RoleAgent, ProjectIDs: []pulid.ID{"PJ1"}}
	memoManager = &auth.Viewer{UserID: "US2", Role: auth.RoleManager, ProjectIDs: []pulid.ID{"PJ1"}}
)

// A phone's lookup, sent again and again with another suffix, is walked
// once: what the walkers found is remembered for the operation.
func TestMemoRemembersAnOperationWhoseVariablesCannotChangeTheAnswer(t *testing.T) {
	c := newMemoChecks(t, `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name } } } }`)
	op := c.doc.Operations[0]
	err, cost := c.run(memoAgent, map[string]any{"d": "1234"})
	if err != nil {
		t.Fatal(err)
	}
	p := c.memo.ops[op]
	if p.cost.Load() == nil || p.filters.Load() == nil || !p.text.Load() || !p.introspection.Load() || !p.pageSize.Load() {
		t.Fatalf("not remembered: %+v", p)
	}
	if uses := *p.filters.Load(); len(uses) != 1 || uses[0] != (filterUse{"Customer", "phone_last4"}) {
		t.Fatalf("filters remembered %v", uses)
	}
	if err, again := c.run(memoAgent, map[string]any{"d": "5678"}); err != nil || again != cost {
		t.Fatalf("the second request: %v, cost %d, want %d", err, again, cost)
	}
	c.memo.Forget(c.doc)
	if c.memo.ops[op] != nil {
		t.Fatal("a document the cache let go is still remembered")
	}
}

// What the variables decide is decided again on every request, whatever
// an earlier request of the same document passed.
func TestMemoDecidesWhatTheVariablesDecideEachTime(t *testing.T) {
	t.Run("text", func(t *testing.T) {
		c := newMemoChecks(t, `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { totalCount } }`)
		if err, _ := c.run(memoAgent, map[string]any{"d": "1234"}); err != nil {
			t.Fatal(err)
		}
		err, _ := c.run(memoAgent, map[string]any{"d": "12\x0034"})
		refusedAt(t, err, apperr.BadUserInput, "where.phoneLast4")
	})
	t.Run("the viewer's access", func(t *testing.T) {
		// A manager reads every deal's terms, an agent only its own.
		c := newMemoChecks(t, `query($p: Money!) { deals(first: 1, where: {priceGTE: $p}) { totalCount } }`)
		if err, _ := c.run(memoManager, map[string]any{"p": "1"}); err != nil {
			t.Fatal(err)
		}
		err, _ := c.run(memoAgent, map[string]any{"p": "1"})
		refusedAt(t, err, apperr.Forbidden, "where.priceGTE")
	})
	t.Run("a page size", func(t *testing.T) {
		c := newMemoChecks(t, `query($n: Int!) { customers(first: $n) { edges { node { id } } } }`)
		_, small := c.run(memoAgent, map[string]any{"n": 2})
		if c.memo.of(&graphql.OperationContext{Operation: c.doc.Operations[0], Variables: map[string]any{"n": 2}}) != nil {
			t.Fatal("an operation with an Int variable is remembered")
		}
		if _, large := c.run(memoAgent, map[string]any{"n": 50}); large <= small {
			t.Fatalf("cost %d for 50 items, %d for 2", large, small)
		}
		err, _ := c.run(memoAgent, map[string]any{"n": 101})
		refusedAt(t, err, apperr.BadUserInput, "customers.first")
	})
	t.Run("a null", func(t *testing.T) {
		// A null filter value is no term; a string is one.
		c := newMemoChecks(t, `query($d: String) { customers(first: 10, where: {phoneLast4: $d}) { totalCount } }`)
		_, withNull := c.run(memoAgent, map[string]any{"d": nil})
		_, withText := c.run(memoAgent, map[string]any{"d": "1234"})
		if _, again := c.run(memoAgent, map[string]any{"d": nil}); again != withNull || withText != withNull+1 {
			t.Fatalf("costs: null %d, text %d, null again %d", withNull, withText, again)
		}
	})
	t.Run("an enum", func(t *testing.T) {
		c := newMemoChecks(t, `query($f: DealOrderField!) { deals(first: 1, orderBy: {field: $f}) { totalCount } }`)
		if err, _ := c.run(memoAgent, map[string]any{"f": "RESERVED_AT"}); err != nil {
			t.Fatal(err)
		}
		err, _ := c.run(memoAgent, map[string]any{"f": "PRICE"})
		refusedAt(t, err, apperr.Forbidden, "orderBy.field")
	})
	t.Run("an input object", func(t *testing.T) {
		c := newMemoChecks(t, `query($w: DealWhereInput) { deals(first: 1, where: $w) { totalCount } }`)
		if err, _ := c.run(memoAgent, map[string]any{"w": map[string]any{"stage": "RESERVED"}}); err != nil {
			t.Fatal(err)
		}
		err, _ := c.run(memoAgent, map[string]any{"w": map[string]any{"priceGTE": "1"}})
		refusedAt(t, err, apperr.Forbidden, "where.priceGTE")
	})
}
