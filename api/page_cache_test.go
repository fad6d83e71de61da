package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
)

// A page of customers of one shape is built by ent once and then answered
// by its statement kept rendered (graph/page_cache.go), run with each
// page's own filter values and time. These pages come one after another
// from one server, so every page after the first of its shape is answered
// from the kept statement: a value or a time frozen into it would answer
// an earlier page's customers.
func TestCustomerPagesRunTheirKeptStatementWithTheirOwnValues(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	at := time.Now()
	env.Now = func() time.Time { return at }
	ctx := apitest.System()
	// cA2 (A2's) stays protected for a minute more: not A1's to see yet.
	env.Client.Customer.UpdateOneID(w.ID("cA2")).SetProtectedUntil(at.Add(time.Minute)).ExecX(ctx)

	type page struct {
		Customers struct {
			Edges []struct{ Node struct{ ID, Phone string } }
		}
	}
	// seen is the answer's customers, by label, with their phones.
	seen := func(t *testing.T, r *apitest.Response) []string {
		t.Helper()
		if len(r.Errors) > 0 {
			t.Fatalf("errors: %+v", r.Errors)
		}
		var p page
		if err := json.Unmarshal(r.Data, &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range p.Customers.Edges {
			out = append(out, w.Label(e.Node.ID)+" "+e.Node.Phone)
		}
		return out
	}
	const bySuffix = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id phone } } } }`
	a1 := w.Caller(t, "A1")
	for _, step := range []struct {
		name, suffix string
		later        time.Duration
		want         []string
	}{
		{"own customer", "0001", 0, []string{"cA1 +8613811110001"}},
		{"another own customer", "0005", 0, []string{"cH1 +8613811110005"}},
		{"the public pool, masked", "0003", 0, []string{"cPool 138****0003"}},
		{"another agent's protected customer", "0002", 0, nil},
		{"the same, its protection lapsed since", "0002", 2 * time.Minute, []string{"cA2 138****0002"}},
		{"another project's", "0004", 0, nil},
	} {
		t.Run(step.name, func(t *testing.T) {
			at = at.Add(step.later)
			got := seen(t, a1.Query(t, bySuffix, map[string]any{"d": step.suffix}))
			if !slices.Equal(got, step.want) {
				t.Errorf("phone suffix %s: %v, want %v", step.suffix, got, step.want)
			}
		})
	}

	// Kept, the page binds each of its values once: the viewer's id, which
	// five of the read rules compare with, is one parameter on PostgreSQL
	// (graph/page_params.go), and the page is still A1's own.
	env.Counter.Reset()
	env.Counter.Record()
	if got, want := seen(t, a1.Query(t, bySuffix, map[string]any{"d": "0001"})), []string{"cA1 +8613811110001"}; !slices.Equal(got, want) {
		t.Errorf("kept page, phone suffix 0001: %v, want %v", got, want)
	}
	var kept []dbtest.Statement
	for _, s := range env.Counter.Recorded() {
		if strings.Contains(s.Query, "phone_last4") {
			kept = append(kept, s)
		}
	}
	if len(kept) != 1 {
		t.Fatalf("want the page's one statement, got %d: %+v", len(kept), kept)
	}
	uses := 0
	for _, a := range kept[0].Args {
		if a == w.ID("A1") {
			uses++
		}
	}
	if pg := env.DB.Dialect == "postgres"; pg && uses != 1 || !pg && uses < 2 {
		t.Errorf("the viewer's id bound %d times (PostgreSQL: %v): %s %v", uses, pg, kept[0].Query, kept[0].Args)
	}

	// A manager of pA sees every customer of pA, phones masked; the same
	// shape is another statement (another viewer).
	ma := w.Caller(t, "MA")
	for suffix, want := range map[string][]string{"0001": {"cA1 138****0001"}, "0004": nil, "0006": {"cH2 138****0006"}} {
		if got := seen(t, ma.Query(t, bySuffix, map[string]any{"d": suffix})); !slices.Equal(got, want) {
			t.Errorf("manager, phone suffix %s: %v, want %v", suffix, got, want)
		}
	}

	// A filter that wraps its value (a name containing it) is not kept:
	// each page is ent's.
	const byName = `query($n: String!) { customers(first: 10, where: {nameContains: $n}) { edges { node { id phone } } } }`
	for n, want := range map[string][]string{"A1": {"cA1 +8613811110001"}, "H1": {"cH1 +8613811110005"}, "B1": nil} {
		if got := seen(t, a1.Query(t, byName, map[string]any{"n": n})); !slices.Equal(got, want) {
			t.Errorf("name containing %s: %v, want %v", n, got, want)
		}
	}

	// A page asking for its count and edges, or its count alone, is not
	// answered by one statement (the COUNT is one): each of them counts
	// with its own values, however often its shape comes.
	const counted = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { totalCount edges { node { id } } } }`
	const countOnly = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { totalCount } }`
	for _, q := range []string{counted, countOnly} {
		for i, c := range []struct {
			suffix string
			want   int
		}{{"0001", 1}, {"0004", 0}, {"0003", 1}, {"0004", 0}, {"0005", 1}} {
			r := a1.Query(t, q, map[string]any{"d": c.suffix})
			var got struct{ Customers struct{ TotalCount int } }
			if len(r.Errors) > 0 {
				t.Fatalf("%d, %s: %s", i, c.suffix, r.Body)
			}
			mustUnmarshal(t, r.Data, &got)
			if got.Customers.TotalCount != c.want {
				t.Errorf("%q, phone suffix %s (page %d of the shape): totalCount %d, want %d", q, c.suffix, i+1, got.Customers.TotalCount, c.want)
			}
		}
	}

	// The page size of a variable is the page's own.
	const sized = `query($f: Int!, $s: [String!]) { customers(first: $f, where: {phoneLast4In: $s}) { edges { node { id phone } } } }`
	for _, c := range []struct {
		first    int
		suffixes []string
		want     int
	}{{1, []string{"0001", "0005"}, 1}, {2, []string{"0001", "0005"}, 2}, {2, []string{"0003", "0001"}, 2}, {2, []string{"0002", "0004"}, 1}} {
		if got := seen(t, a1.Query(t, sized, map[string]any{"f": c.first, "s": c.suffixes})); len(got) != c.want {
			t.Errorf("first %d of %v: %v, want %d customers", c.first, c.suffixes, got, c.want)
		}
	}
}
