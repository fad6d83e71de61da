package rule_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/pulid"
)

// An agent's customer filter is rendered once per agent and reused
// (rendered.go): what each read sees is still decided by that agent's own
// user and projects, the read's own clock, and the read's other
// conditions. The reads are ordered so that a key which ignored the user,
// the projects or the time would serve a neighbour's filter.
func TestAgentCustomerFilterRenderedPerAgent(t *testing.T) {
	w := newWorld(t)
	inQ := *w.viewers["A"] // A, as if their token named project Q instead of P
	inQ.ProjectIDs = []pulid.ID{w.ids["Q"]}
	seen := func(v *auth.Viewer, at time.Time, name string) string {
		ctx := auth.NewContext(clock.NewContext(t.Context(), func() time.Time { return at }), v)
		q := w.client.Customer.Query()
		if name != "" {
			q.Where(customer.Name(name))
		}
		var got []string
		for _, c := range q.AllX(ctx) {
			got = append(got, w.label(string(c.ID)))
		}
		slices.Sort(got)
		return fmt.Sprint(got)
	}
	before := w.now.Add(-2 * time.Hour) // cPool and cH were still protected
	for i, c := range []struct {
		who    string
		viewer *auth.Viewer
		at     time.Time
		name   string
		want   string
	}{
		{"A", w.viewers["A"], w.now, "", "[cA cH cPool]"},
		{"A", w.viewers["A"], w.now, "", "[cA cH cPool]"},
		{"B", w.viewers["B"], w.now, "", "[cB cH cPool]"},
		{"C", w.viewers["C"], w.now, "", "[cQ]"},
		{"A in Q", &inQ, w.now, "", "[cA]"},
		{"A two hours ago", w.viewers["A"], before, "", "[cA]"},
		{"A", w.viewers["A"], w.now, "", "[cA cH cPool]"},
		// Beside another condition the filter stays whole.
		{"A, cB by name", w.viewers["A"], w.now, "cB", "[]"},
		{"A, cPool by name", w.viewers["A"], w.now, "cPool", "[cPool]"},
	} {
		if got := seen(c.viewer, c.at, c.name); got != c.want {
			t.Errorf("%d: %s sees %s, want %s", i, c.who, got, c.want)
		}
	}
}
