package api_test

import (
	"testing"

	"estatecrm/api/apitest"
)

// A page asked for its edges' cursors without pageInfo gets cursors that
// page on (ent/template/pagination.tmpl makes a page of more than three
// edges' cursors only when asked for), and the page without cursors
// answers the same units.
func TestCursorsAskedForWithoutPageInfoPageOn(t *testing.T) {
	w := apitest.New(t).World(t)
	w.Env.Handler = uncached(w.Env)
	c := w.Caller(t, "MA")
	type page struct {
		Units struct {
			Edges []struct {
				Cursor string
				Node   struct{ ID string }
			}
		}
	}
	var all, first, next, bare page
	c.Query(t, `{ units(first: 6, orderBy: [{field: NUMBER, direction: DESC}]) { edges { node { id } } } }`, nil).Decode(t, &all)
	c.Query(t, `{ units(first: 4, orderBy: [{field: NUMBER, direction: DESC}]) { edges { cursor node { id } } } }`, nil).Decode(t, &first)
	if len(all.Units.Edges) != 6 || len(first.Units.Edges) != 4 || first.Units.Edges[3].Cursor == "" {
		t.Fatalf("pages %+v and %+v, want the manager's 6 units and 4 with cursors", all, first)
	}
	c.Query(t, `query($a: Cursor) { units(first: 4, after: $a, orderBy: [{field: NUMBER, direction: DESC}]) { edges { node { id } } } }`,
		map[string]any{"a": first.Units.Edges[3].Cursor}).Decode(t, &next)
	c.Query(t, `{ units(first: 4, orderBy: [{field: NUMBER, direction: DESC}]) { edges { node { id } } } }`, nil).Decode(t, &bare)
	for i, want := range all.Units.Edges {
		var got string
		if i < 4 {
			got = first.Units.Edges[i].Node.ID
			if bare.Units.Edges[i].Node.ID != want.Node.ID {
				t.Errorf("unit %d without cursors: %s, want %s", i, bare.Units.Edges[i].Node.ID, want.Node.ID)
			}
		} else if i-4 < len(next.Units.Edges) {
			got = next.Units.Edges[i-4].Node.ID
		}
		if got != want.Node.ID {
			t.Errorf("unit %d: %s, want %s (the page after the fourth cursor)", i, got, want.Node.ID)
		}
	}
}
