package api_test

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/customer"
	"estatecrm/ent/user"
)

// lapseWorld is the authorization world with A1's hold on uHeld (for cA1)
// run out a minute ago and no sweep since: the row still says HELD.
func lapseWorld(t *testing.T) *apitest.World {
	t.Helper()
	w := apitest.New(t).World(t)
	w.Env.Client.Unit.UpdateOneID(w.ID("uHeld")).SetHoldExpiresAt(time.Now().Add(-time.Minute)).
		ExecX(apitest.System())
	// The row itself, read in SQL: a unit query reads it as released.
	var status string
	if err := w.Env.DB.SQL.QueryRowContext(t.Context(), `SELECT status FROM units WHERE number = '201'`).Scan(&status); err != nil || status != "HELD" {
		t.Fatalf("the fixture's hold is not stored as HELD: %s %v", status, err)
	}
	return w
}

// A lapsed hold not yet swept is a customer's held unit on no path: the
// eager load of customers { heldUnits } (it failed with INTERNAL "foreign-key
// held_for_id is nil": maskHolds cleared the key before the loader assigned
// the row), the edge read alone, and the ent edges of users and customers.
func TestLapsedHoldIsNoHeldUnit(t *testing.T) {
	w := lapseWorld(t)
	const q = `{ customers(first: 20) { edges { node { id heldUnits { id } } } } }`
	for _, actor := range []string{"admin", "MA", "A1"} {
		got := authzRender(w, w.Caller(t, actor).Query(t, q, nil))
		if strings.Contains(got, "uHeld") || strings.Contains(got, "!") {
			t.Errorf("%s: customers { heldUnits } = %s", actor, got)
		}
	}
	one := `query($id: ID!) { node(id: $id) { ... on Customer { heldUnits { id } } } }`
	for _, actor := range []string{"admin", "MA", "A1"} {
		if got := authzRender(w, w.Caller(t, actor).Query(t, one, map[string]any{"id": w.ID("cA1")})); got != "{heldUnits=[]}" && got != "{heldUnits=null}" {
			t.Errorf("%s: cA1 heldUnits = %s", actor, got)
		}
	}
	admin := auth.NewContext(t.Context(), apitest.Admin)
	c := w.Env.Client
	if n, err := c.Customer.Query().Where(customer.ID(w.ID("cA1"))).QueryHeldUnits().Count(admin); err != nil || n != 0 {
		t.Errorf("cA1's held units through the ent edge: %d, %v", n, err)
	}
	if a1, err := c.User.Query().Where(user.ID(w.ID("A1"))).WithHeldUnits().Only(admin); err != nil || len(a1.Edges.HeldUnits) != 0 {
		t.Errorf("A1's held units eager-loaded: %v", err)
	}
	if n, err := c.User.Query().Where(user.ID(w.ID("A1"))).QueryHeldUnits().Count(admin); err != nil || n != 0 {
		t.Errorf("A1's held units through the ent edge: %d, %v", n, err)
	}
}

// A lapsed hold reads as an available unit held by nobody, for nobody,
// until no time, on every path: node(id:), lists, filters on status, the
// sales grid and its counts (cached or not).
func TestLapsedHoldReadsAsReleased(t *testing.T) {
	w := lapseWorld(t)
	staff := []string{"admin", "MA", "A1", "A2"}
	one := `query($id: ID!) { node(id: $id) { ... on Unit { status heldBy { id } heldFor { id } heldByID heldForID holdExpiresAt } } }`
	want := "{heldBy=null,heldByID=null,heldFor=null,heldForID=null,holdExpiresAt=null,status=AVAILABLE}"
	for _, actor := range staff {
		if got := authzRender(w, w.Caller(t, actor).Query(t, one, map[string]any{"id": w.ID("uHeld")})); got != want {
			t.Errorf("%s: node(uHeld) = %s", actor, got)
		}
	}
	list := `{ units(first: 20, where: {number: "201"}) { edges { node { id status heldBy { id } heldFor { id } holdExpiresAt } } } }`
	for _, actor := range staff {
		if got := authzRender(w, w.Caller(t, actor).Query(t, list, nil)); got != "[uHeld{heldBy=null,heldFor=null,holdExpiresAt=null,status=AVAILABLE}]" {
			t.Errorf("%s: units = %s", actor, got)
		}
	}
	// Filters on status see the lapse as the fields do.
	for _, actor := range append(staff, "portal") {
		c := w.Caller(t, actor)
		if got := authzRender(w, c.Query(t, `{ units(first: 20, where: {status: HELD}) { edges { node { id } } } }`, nil)); got != "[]" {
			t.Errorf("%s: units held = %s", actor, got)
		}
		if got := authzRender(w, c.Query(t, `{ units(first: 20, where: {status: AVAILABLE, number: "201"}) { totalCount edges { node { id } } } }`, nil)); got != "#1[uHeld]" {
			t.Errorf("%s: units available = %s", actor, got)
		}
	}
	// The sales grid, with the holder (uncached) and without (cached), twice.
	holder := `query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count }
	  buildings { floors { units { id status heldBy { id } heldFor { id } holdExpiresAt } } } } }`
	plain := `query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count }
	  buildings { floors { units { id status heldByID heldForID holdExpiresAt } } } } }`
	for _, actor := range []string{"admin", "MA", "A1"} {
		for _, q := range []string{holder, plain, plain} {
			var g struct {
				SalesGrid struct {
					StatusCounts []struct {
						Status string
						Count  int
					}
					Buildings []struct {
						Floors []struct {
							Units []map[string]any
						}
					}
				}
			}
			w.Caller(t, actor).Query(t, q, map[string]any{"p": w.ID("pA")}).Decode(t, &g)
			for _, sc := range g.SalesGrid.StatusCounts {
				if sc.Status == "HELD" && sc.Count != 0 {
					t.Errorf("%s: the grid counts %d held", actor, sc.Count)
				}
			}
			for _, b := range g.SalesGrid.Buildings {
				for _, f := range b.Floors {
					for _, u := range f.Units {
						if u["id"] != string(w.ID("uHeld")) {
							continue
						}
						if u["status"] != "AVAILABLE" || u["heldBy"] != nil || u["heldFor"] != nil || u["heldByID"] != nil || u["heldForID"] != nil || u["holdExpiresAt"] != nil {
							t.Errorf("%s: the grid shows uHeld as %v", actor, u)
						}
					}
				}
			}
		}
	}
}

// A hold that lapses while a grid is cached: the next answer shows it
// released (the domain clock moves past the expiry, nothing is written).
func TestGridCacheSeesTheLapse(t *testing.T) {
	w := apitest.New(t).World(t)
	q := `query($p: ID!) { salesGrid(projectId: $p) { statusCounts { status count } } }`
	held := func() int {
		var g struct {
			SalesGrid struct {
				StatusCounts []struct {
					Status string
					Count  int
				}
			}
		}
		w.Caller(t, "MA").Query(t, q, map[string]any{"p": w.ID("pA")}).Decode(t, &g)
		for _, sc := range g.SalesGrid.StatusCounts {
			if sc.Status == "HELD" {
				return sc.Count
			}
		}
		return -1
	}
	if n := held(); n != 1 {
		t.Fatalf("held before the lapse: %d", n)
	}
	later := time.Now().Add(31 * time.Minute)
	w.Env.Now = func() time.Time { return later }
	if n := held(); n != 0 {
		t.Fatalf("held after the lapse: %d", n)
	}
}
