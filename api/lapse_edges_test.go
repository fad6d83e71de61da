package api_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
)

// lapsedEdgeWorld is the authorization world with the server's clock moved
// 31 minutes on: A1's hold on uHeld (for 30 minutes) has lapsed and no
// sweep has run, so its row still says HELD, by A1, for cA1, until a time
// now past. uFree is held by A2 for cA2 until an hour after the world was
// made: a live hold, beside it.
func lapsedEdgeWorld(t *testing.T) (*apitest.World, time.Time) {
	t.Helper()
	env := apitest.New(t)
	w := env.World(t)
	env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A2")).
		SetHeldForID(w.ID("cA2")).SetHoldExpiresAt(w.Now.Add(time.Hour)).ExecX(apitest.System())
	later := w.Now.Add(31 * time.Minute)
	env.Now = func() time.Time { return later }
	// The row itself, read in SQL: no unit query, which reads it as released.
	var status string
	var holder *string
	if err := env.DB.SQL.QueryRowContext(t.Context(), `SELECT status, held_by_id FROM units WHERE number = '201'`).
		Scan(&status, &holder); err != nil || status != "HELD" || holder == nil || *holder != string(w.ID("A1")) {
		t.Fatalf("the fixture's lapsed hold is not stored as held by A1: %s %v %v", status, holder, err)
	}
	return w, later
}

// unitEdgePath is one way to reach a project's or a building's units
// edge: a query whose connection is aliased c, and where to find it.
type unitEdgePath struct {
	name  string
	staff bool   // only staff may take it (the sales grid)
	of    string // the label of the project or building passed as $id
	query string // with %s for the edge's arguments and selection
	at    []string
}

// unitEdgeArgs are the arguments of every edge in unitEdgePaths.
const unitEdgeArgs = `c: units(first: $n, after: $after, last: $l, before: $before,
	orderBy: [{field: STATUS, direction: $d}, {field: NUMBER}], where: $where) {
	totalCount edges { node { id status holdExpiresAt heldBy { id } } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } }`

const unitEdgeVars = `$id: ID!, $n: Int, $after: Cursor, $l: Int, $before: Cursor, $d: OrderDirection!, $where: UnitWhereInput`

// unitEdgePaths: the edges eager-loaded by field collection (node, a list
// of projects, a project's buildings) and those resolved on their own
// (the sales grid's project and buildings, loaded without collection).
var unitEdgePaths = []unitEdgePath{
	{"node(project).units", false, "pA", `query(` + unitEdgeVars + `) { node(id: $id) { ... on Project { %s } } }`, []string{"node", "c"}},
	{"node(building).units", false, "bA", `query(` + unitEdgeVars + `) { node(id: $id) { ... on Building { %s } } }`, []string{"node", "c"}},
	{"projects.units", false, "pA", `query(` + unitEdgeVars + `) { projects(first: 5, where: {id: $id}) { edges { node { %s } } } }`, []string{"projects", "edges", "0", "node", "c"}},
	{"project.buildings.units", false, "pA", `query(` + unitEdgeVars + `) { node(id: $id) { ... on Project { buildings(first: 5) { edges { node { %s } } } } } }`, []string{"node", "buildings", "edges", "0", "node", "c"}},
	{"salesGrid.project.units", true, "pA", `query(` + unitEdgeVars + `) { salesGrid(projectId: $id) { project { %s } } }`, []string{"salesGrid", "project", "c"}},
	{"salesGrid.building.units", true, "pA", `query(` + unitEdgeVars + `) { salesGrid(projectId: $id) { buildings { building { %s } } } }`, []string{"salesGrid", "buildings", "0", "building", "c"}},
}

// unitEdgeConn is a page of an edge: its units as "label:status".
type unitEdgeConn struct {
	TotalCount int
	Edges      []struct {
		Node struct {
			ID, Status    string
			HoldExpiresAt *time.Time
			HeldBy        *struct{ ID string }
		}
	}
	PageInfo struct {
		HasNextPage, HasPreviousPage bool
		StartCursor, EndCursor       *string
	}
}

// edgePage runs path with vars as actor and returns the connection.
func edgePage(t *testing.T, w *apitest.World, actor string, p unitEdgePath, vars map[string]any) unitEdgeConn {
	t.Helper()
	vars["id"] = w.ID(p.of)
	if _, ok := vars["d"]; !ok {
		vars["d"] = "ASC"
	}
	res := w.Caller(t, actor).Query(t, fmt.Sprintf(p.query, unitEdgeArgs), vars)
	if len(res.Errors) > 0 {
		t.Fatalf("%s %s: %s", actor, p.name, res.Body)
	}
	var v any
	if err := json.Unmarshal(res.Data, &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range p.at {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			if len(x) == 0 {
				t.Fatalf("%s %s: nothing at %s: %s", actor, p.name, k, res.Data)
			}
			v = x[0]
		default:
			t.Fatalf("%s %s: nothing at %s: %s", actor, p.name, k, res.Data)
		}
	}
	b, _ := json.Marshal(v)
	var c unitEdgeConn
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s %s: %v: %s", actor, p.name, err, b)
	}
	return c
}

func (c unitEdgeConn) labels(w *apitest.World) []string {
	var out []string
	for _, e := range c.Edges {
		out = append(out, w.Label(e.Node.ID)+":"+e.Node.Status)
	}
	return out
}

// holds renders the units of c that show a holder or an expiry, as
// "label:holder:expiry".
func (c unitEdgeConn) holds(w *apitest.World) []string {
	var out []string
	for _, e := range c.Edges {
		if e.Node.HeldBy == nil && e.Node.HoldExpiresAt == nil {
			continue
		}
		s := w.Label(e.Node.ID) + ":"
		if e.Node.HeldBy != nil {
			s += w.Label(e.Node.HeldBy.ID)
		}
		s += ":"
		if e.Node.HoldExpiresAt != nil {
			s += e.Node.HoldExpiresAt.UTC().Format(time.TimeOnly)
		}
		out = append(out, s)
	}
	return out
}

// A lapsed hold not yet swept sorts and pages as it reads, AVAILABLE, in
// the units edges of a project and of a building, however they are
// reached: eager-loaded with their parent (node, projects, a project's
// buildings) or resolved on their own (the sales grid's project and
// buildings), forwards and backwards, in pages of 1, 2 and all, with the
// count. Only Query.units did; the edges sorted it as HELD, the stored
// status, and their cursors (taken from the unit as read) then skipped or
// repeated units.
func TestLapsedHoldInUnitEdgesOrdersAsAvailable(t *testing.T) {
	w, _ := lapsedEdgeWorld(t)
	for _, actor := range []string{"admin", "MA", "A1", "A2", "portal"} {
		staff := actor != "portal"
		for _, p := range unitEdgePaths {
			if p.staff && !staff {
				continue
			}
			// What the actor sees through this edge, each unit with its
			// status as read (the field reads the lapse already), in the
			// order of status then number.
			all := edgePage(t, w, actor, p, map[string]any{"n": 100})
			type row struct{ label, status, number string }
			var rows []row
			for _, e := range all.Edges {
				l := w.Label(e.Node.ID)
				rows = append(rows, row{l, e.Node.Status, w.Env.Client.Unit.GetX(apitest.System(), w.ID(l)).Number})
			}
			if !slices.ContainsFunc(rows, func(r row) bool { return r.label == "uHeld" && r.status == "AVAILABLE" }) ||
				!slices.ContainsFunc(rows, func(r row) bool { return r.label == "uFree" && r.status == "HELD" }) {
				t.Fatalf("%s %s: the holds do not read as released (uHeld) and live (uFree): %v", actor, p.name, all.labels(w))
			}
			// Who holds what, and until when, is the staff's; the lapsed
			// hold is nobody's (read with the edge, on SQLite a time too).
			var holds []string
			if staff {
				holds = []string{"uFree:A2:" + w.Now.Add(time.Hour).UTC().Format(time.TimeOnly)}
			}
			if got := all.holds(w); !slices.Equal(got, holds) {
				t.Errorf("%s %s: holds %v, want %v", actor, p.name, got, holds)
			}
			for _, dir := range []string{"ASC", "DESC"} {
				sorted := slices.Clone(rows)
				slices.SortFunc(sorted, func(a, b row) int {
					by := cmp.Compare(a.status, b.status)
					if dir == "DESC" {
						by = -by
					}
					return cmp.Or(by, cmp.Compare(a.number, b.number))
				})
				var want []string
				for _, r := range sorted {
					want = append(want, r.label+":"+r.status)
				}
				one := edgePage(t, w, actor, p, map[string]any{"d": dir, "n": 100})
				if got := one.labels(w); !slices.Equal(got, want) || one.TotalCount != len(want) {
					t.Errorf("%s %s %s: #%d %v, want #%d %v", actor, p.name, dir, one.TotalCount, got, len(want), want)
				}
				for _, n := range []int{1, 2} {
					var got []string
					var after any
					for range len(want) + 1 {
						c := edgePage(t, w, actor, p, map[string]any{"d": dir, "n": n, "after": after})
						got = append(got, c.labels(w)...)
						if c.TotalCount != len(want) {
							t.Errorf("%s %s %s: a page of %d counts %d, want %d", actor, p.name, dir, n, c.TotalCount, len(want))
						}
						if !c.PageInfo.HasNextPage {
							break
						}
						after = c.PageInfo.EndCursor
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s %s %s, pages of %d forwards: %v, want %v", actor, p.name, dir, n, got, want)
					}
					got = nil
					var before any
					for range len(want) + 1 {
						c := edgePage(t, w, actor, p, map[string]any{"d": dir, "l": n, "before": before})
						got = append(c.labels(w), got...)
						if !c.PageInfo.HasPreviousPage {
							break
						}
						before = c.PageInfo.StartCursor
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s %s %s, pages of %d backwards: %v, want %v", actor, p.name, dir, n, got, want)
					}
				}
			}
		}
	}
}

// Filters on a lapsed hold see what its fields show, in the units edges as
// in Query.units and in a project's hasUnitsWith: its status is AVAILABLE,
// and it has no expiry (holdExpiresAt reads null), so no filter on the
// expiry finds it by the time its row still stores. Filters on status did
// already (rule.StatusReads); those on holdExpiresAt compared the stored
// expiry and found it, a lapsed hold "held until" a past time.
func TestLapsedHoldInUnitEdgesFilters(t *testing.T) {
	w, later := lapsedEdgeWorld(t)
	liveUntil := w.Now.Add(time.Hour).Format(time.RFC3339)
	lapsedAt := w.Now.Add(30 * time.Minute).Format(time.RFC3339)
	cases := []struct {
		where map[string]any
		d     string
		want  string // "#count label label…" in the order of the edge
	}{
		{map[string]any{"status": "HELD"}, "ASC", "#1 uFree"},
		{map[string]any{"status": "AVAILABLE"}, "ASC", "#2 uHeld uUnpub"},
		{map[string]any{"statusNEQ": "AVAILABLE", "statusNotIn": []string{"CONTRACTED"}}, "ASC", "#2 uFree uR"},
		{map[string]any{"statusIn": []string{"AVAILABLE", "HELD"}}, "DESC", "#3 uFree uHeld uUnpub"},
		{map[string]any{"holdExpiresAtNotNil": true}, "ASC", "#1 uFree"},
		{map[string]any{"holdExpiresAtIsNil": true, "statusIn": []string{"AVAILABLE", "HELD"}}, "ASC", "#2 uHeld uUnpub"},
		{map[string]any{"not": map[string]any{"holdExpiresAtIsNil": true}}, "ASC", "#1 uFree"},
		{map[string]any{"holdExpiresAtLT": later.Format(time.RFC3339)}, "ASC", "#0"},
		{map[string]any{"holdExpiresAtLTE": lapsedAt}, "ASC", "#0"},
		{map[string]any{"holdExpiresAt": lapsedAt}, "ASC", "#0"},
		{map[string]any{"holdExpiresAtIn": []string{lapsedAt, liveUntil}}, "ASC", "#1 uFree"},
		{map[string]any{"holdExpiresAtGT": w.Now.Format(time.RFC3339)}, "ASC", "#1 uFree"},
		{map[string]any{"holdExpiresAtGTE": lapsedAt}, "ASC", "#1 uFree"},
		{map[string]any{"holdExpiresAtNEQ": liveUntil}, "ASC", "#0"},
		{map[string]any{"holdExpiresAtNotIn": []string{liveUntil}}, "ASC", "#0"},
		{map[string]any{"or": []any{map[string]any{"holdExpiresAtLT": later.Format(time.RFC3339)}, map[string]any{"status": "HELD"}}}, "ASC", "#1 uFree"},
	}
	render := func(c unitEdgeConn) string {
		s := fmt.Sprintf("#%d", c.TotalCount)
		for _, e := range c.Edges {
			s += " " + w.Label(e.Node.ID)
		}
		return s
	}
	for _, actor := range []string{"admin", "MA", "A1", "A2"} {
		for _, p := range unitEdgePaths {
			for _, k := range cases {
				if got := render(edgePage(t, w, actor, p, map[string]any{"n": 100, "d": k.d, "where": k.where})); got != k.want {
					t.Errorf("%s %s where %v: %s, want %s", actor, p.name, k.where, got, k.want)
				}
			}
		}
		// The same filters on Query.units, and through a project's
		// hasUnitsWith (a subquery of units that no unit query reads).
		c := w.Caller(t, actor)
		for _, k := range cases {
			var got struct {
				Units    unitEdgeConn
				Projects struct {
					Edges []struct{ Node struct{ ID string } }
				}
			}
			c.Query(t, `query($w: UnitWhereInput!, $d: OrderDirection!, $p: ID!) {
			  units(first: 100, where: {and: [$w, {projectID: $p}]}, orderBy: [{field: STATUS, direction: $d}, {field: NUMBER}]) {
			    totalCount edges { node { id status } } }
			  projects(first: 5, where: {hasUnitsWith: [$w]}) { edges { node { id } } } }`,
				map[string]any{"w": k.where, "d": k.d, "p": w.ID("pA")}).Decode(t, &got)
			if s := render(got.Units); s != k.want {
				t.Errorf("%s units where %v: %s, want %s", actor, k.where, s, k.want)
			}
			var projects []string
			for _, e := range got.Projects.Edges {
				projects = append(projects, w.Label(e.Node.ID))
			}
			if want := k.want != "#0"; slices.Contains(projects, "pA") != want {
				t.Errorf("%s projects where hasUnitsWith %v: %v, want pA: %v", actor, k.where, projects, want)
			}
		}
	}
	if t.Failed() {
		return
	}
	// A filter on the expiry stays the staff's (it is a read of a field
	// only staff read): the portal is refused it, whatever the lapse.
	res := w.Caller(t, "portal").Query(t, `{ units(first: 5, where: {holdExpiresAtNotNil: true}) { edges { node { id } } } }`, nil)
	if len(res.Errors) != 1 || res.Errors[0].Code() != "FORBIDDEN" || !strings.Contains(res.Errors[0].Message, "holdExpiresAt") {
		t.Errorf("portal filtering on holdExpiresAt: %s", res.Body)
	}
}
