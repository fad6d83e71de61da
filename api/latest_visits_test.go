package api_test

// A page of customers with each one's latest visits (what an agent's phone
// asks: a customer by phone suffix with the last 5 visits) is one
// statement on PostgreSQL: the visits ride in the customers' statement
// (graph/latest_visits.go). The answer is the edge's answer, for every
// actor: the same as when the visits are loaded ent's usual way (forced
// here by a directive on the field, which the fold leaves alone).

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"entgo.io/ent/dialect"

	"estatecrm/api/apitest"
)

func TestLatestVisitsFoldedIntoCustomersStatement(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	const page = `query($d: String, $n: Int!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name phone
	  %svisits(first: $n%s)%s { edges { node { id kind occurredAt notes agentID } } } } } } }`
	const latest = `, orderBy: [{field: OCCURRED_AT, direction: DESC}]`
	folded := fmt.Sprintf(page, "", latest, "")
	usual := fmt.Sprintf(page, "", latest, " @include(if: true)")
	aliased := fmt.Sprintf(page, "latest: ", latest, "")
	// The other orders folded: the oldest first (one object, not a list),
	// and none (by id).
	orders := []string{`, orderBy: {field: OCCURRED_AT}`, ``}

	type visits struct {
		Edges []struct {
			Node struct{ ID, Kind, OccurredAt, Notes, AgentID string }
		}
	}
	type answer struct {
		Customers struct {
			Edges []struct {
				Node struct {
					ID, Name, Phone string
					Visits          *visits
					Latest          *visits
				}
			}
		}
	}
	// seen is what an actor's answer shows: customer label → phone and
	// the labels of its visits, in order.
	seen := func(t *testing.T, data json.RawMessage) map[string][]string {
		var a answer
		mustUnmarshal(t, data, &a)
		out := map[string][]string{}
		for _, e := range a.Customers.Edges {
			vs := e.Node.Visits
			if vs == nil {
				vs = e.Node.Latest
			}
			line := []string{e.Node.Phone}
			for _, v := range vs.Edges {
				line = append(line, w.Label(v.Node.ID))
			}
			out[w.Label(e.Node.ID)] = line
		}
		return out
	}
	// One statement fewer than the usual way on PostgreSQL (the visits'
	// own); SQLite keeps the usual way. (An admin's or a manager's read of
	// full phones adds the audit's INSERT to both.)
	saved := int64(1)
	if env.DB.Dialect != dialect.Postgres {
		saved = 0
	}
	for _, actor := range []string{"admin", "MA", "MB", "A1", "A2", "B1", "H1"} {
		t.Run(actor, func(t *testing.T) {
			c := w.Caller(t, actor)
			for _, vars := range []map[string]any{{"n": 5}, {"n": 1}, {"n": 5, "d": "0001"}, {"n": 5, "d": "0003"}} {
				env.Counter.Reset()
				env.Counter.Record()
				f := c.Query(t, folded, vars)
				n, stmts := env.Counter.Count(), env.Counter.Statements()
				env.Counter.Reset()
				u := c.Query(t, usual, vars)
				if len(f.Errors) > 0 {
					t.Fatalf("%v: %s", vars, f.Body)
				}
				fewer := saved
				if len(seen(t, u.Data)) == 0 {
					fewer = 0 // no customers: the usual way reads no visits either
				}
				if usualN := env.Counter.Count(); n != usualN-fewer {
					t.Fatalf("%v: %d statements, the usual way %d; want %d fewer: %q", vars, n, usualN, fewer, stmts)
				}
				// An agent's phone: the page and its visits in one statement
				// (nothing audited), whatever the page's size.
				if agent := actor[0] == 'A' || actor[0] == 'B'; agent && saved == 1 && n != 1 {
					t.Fatalf("%v: an agent's page took %d statements, want 1: %q", vars, n, stmts)
				}
				// The visits of the customers an agent owns are those whose
				// row's owner is the agent (rule.VisitsOfCustomerRow), not
				// an array of every customer the agent owns made for the page.
				if ownList := `ARRAY(SELECT "customers"."id" FROM "customers" WHERE "customers"."owner_id"`; saved == 1 && len(stmts) > 0 && strings.Contains(stmts[0], ownList) {
					t.Fatalf("%v: the folded visits list the agent's customers: %s", vars, stmts[0])
				}
				a := c.Query(t, aliased, vars)
				if len(u.Errors) > 0 || len(a.Errors) > 0 {
					t.Fatalf("%v: %s %s", vars, u.Body, a.Body)
				}
				got, want, alias := seen(t, f.Data), seen(t, u.Data), seen(t, a.Data)
				if fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprint(alias) != fmt.Sprint(want) {
					t.Fatalf("%v: folded %v, aliased %v; loaded the usual way %v", vars, got, alias, want)
				}
				if string(f.Data) != string(u.Data) {
					t.Fatalf("%v: folded answer\n%s\ndiffers from the usual\n%s", vars, f.Data, u.Data)
				}
				for _, o := range orders {
					f, u := c.Query(t, fmt.Sprintf(page, "", o, ""), vars), c.Query(t, fmt.Sprintf(page, "", o, " @include(if: true)"), vars)
					if len(f.Errors) > 0 || string(f.Data) != string(u.Data) {
						t.Fatalf("%v, %q: folded answer\n%s\ndiffers from the usual\n%s", vars, o, f.Body, u.Data)
					}
				}
			}
		})
	}

	// What the rules say, through the folded path: A1 owns cA1 and sees
	// both its visits (A2's call from before the reassignment too); cPool
	// (A2's, lapsed) is in A1's pool with the phone masked and none of
	// A2's visits; A2 sees its own visit of cPool and not cA1 at all.
	want := map[string]map[string][]string{
		"A1": {"cA1": {apitest.WorldPhones["cA1"], "vA1", "vA2c"}, "cPool": {"138****0003"}},
		"A2": {"cPool": {apitest.WorldPhones["cPool"], "vPool"}},
	}
	for actor, customers := range want {
		res := w.Caller(t, actor).Query(t, folded, map[string]any{"n": 5})
		got := seen(t, res.Data)
		for label, line := range customers {
			g := got[label]
			if len(g) > 0 {
				slices.Sort(g[1:])
			}
			if fmt.Sprint(g) != fmt.Sprint(line) {
				t.Errorf("%s sees %s as %v, want %v (all: %v)", actor, label, g, line, got)
			}
		}
		if actor == "A2" && got["cA1"] != nil {
			t.Errorf("A2 sees cA1 (A1's, protected): %v", got["cA1"])
		}
	}
}
