package api_test

import (
	"bytes"
	"strings"
	"testing"

	"estatecrm/api/apitest"
)

// A page of units with their project's name reads the project in the
// units' statement (graph/unit_project.go): one statement fewer than
// ent's eager load of the edge, and, for every actor, the same answer as
// the same page asked so that it is not folded (an inline fragment on the
// project). It would fail if a folded project differed from the edge's
// (another's project, a field left out), or if the listing read the
// project in a statement of its own again.
func TestUnitsReadTheirProjectInOneStatement(t *testing.T) {
	w := apitest.New(t).World(t)
	// The statements of the field itself: the answer cache (which would
	// answer the second of two pages that differ only by a fragment) off.
	w.Env.Handler = uncached(w.Env)
	const folded = `query($w: UnitWhereInput) { units(first: 3, where: $w, orderBy: [{field: NUMBER}]) {
	  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number project { id name city district address __typename } } } } }`
	const asEdge = `query($w: UnitWhereInput) { units(first: 3, where: $w, orderBy: [{field: NUMBER}]) {
	  totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id number project { ... on Project { id name city district address __typename } } } } } }`
	for _, actor := range apitest.Actors {
		for _, where := range []map[string]any{nil, {"status": "AVAILABLE"}, {"projectID": w.ID("pB")}} {
			c := w.Caller(t, actor)
			c.Query(t, asEdge, map[string]any{"w": where}) // the caller's key or session, read once and cached
			w.Env.Counter.Reset()
			got := c.Query(t, folded, map[string]any{"w": where})
			n := w.Env.Counter.Count()
			w.Env.Counter.Reset()
			want := c.Query(t, asEdge, map[string]any{"w": where})
			m := w.Env.Counter.Count()
			if !bytes.Equal(sansAvailable(got.Body), sansAvailable(want.Body)) {
				t.Errorf("%s where %v:\nfolded  %s\nas edge %s", actor, where, got.Body, want.Body)
			}
			if strings.Contains(string(want.Data), `"project"`) && n != m-1 {
				t.Errorf("%s where %v: %d statements folded, %d as an edge; want one fewer", actor, where, n, m)
			}
		}
	}
}
