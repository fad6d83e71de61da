package api_test

import (
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
)

const gridQuery = `query Grid($p: ID!) {
  salesGrid(projectId: $p) {
    project { name }
    statusCounts { status count }
    buildings { building { name floors } floors { floor units { number status listPrice project { name } building { name } } } }
  }
}`

type grid struct {
	SalesGrid struct {
		Project      struct{ Name string }
		StatusCounts []struct {
			Status string
			Count  int
		}
		Buildings []struct {
			Building struct {
				Name   string
				Floors int
			}
			Floors []struct {
				Floor int
				Units []struct {
					Number, Status, ListPrice string
					Project, Building         struct{ Name string }
				}
			}
		}
	}
}

func TestSalesGrid(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 2, 12, 4)
	env.Project(t, "另一个项目", 1, 3, 3) // must not leak into the grid
	ctx := apitest.System()
	env.Client.Unit.Update().Where(unit.ProjectID(p.ID), unit.Floor(12)).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
	env.Client.Unit.Update().Where(unit.ProjectID(p.ID), unit.Floor(11), unit.Number("1101")).SetStatus(unit.StatusHELD).ExecX(ctx)

	env.Counter.Reset()
	var g grid
	env.Query(t, gridQuery, map[string]any{"p": p.ID}).Decode(t, &g)
	if n := env.Counter.Count(); n > 3 {
		t.Fatalf("the grid took %d statements; want 3 whatever its size", n)
	}
	sg := g.SalesGrid
	if sg.Project.Name != "滨江·云玺" || len(sg.Buildings) != 2 {
		t.Fatalf("unexpected grid: %+v", sg)
	}
	for _, b := range sg.Buildings {
		if len(b.Floors) != 12 || b.Floors[0].Floor != 12 || b.Floors[11].Floor != 1 {
			t.Fatalf("%s: want floors 12..1 top first, got %d floors", b.Building.Name, len(b.Floors))
		}
		for _, f := range b.Floors {
			if len(f.Units) != 4 {
				t.Fatalf("%s floor %d: %d units, want 4", b.Building.Name, f.Floor, len(f.Units))
			}
			for i, u := range f.Units {
				if u.Building.Name != b.Building.Name || u.Project.Name != "滨江·云玺" {
					t.Fatalf("unit %s is in the wrong place: %+v", u.Number, u)
				}
				if i > 0 && u.Number < f.Units[i-1].Number {
					t.Fatalf("units not in door order on floor %d", f.Floor)
				}
			}
		}
	}
	want := map[string]int{"AVAILABLE": 2*12*4 - 8 - 2, "HELD": 2, "RESERVED": 0, "CONTRACTED": 8, "DELIVERED": 0, "WITHDRAWN": 0}
	for _, c := range sg.StatusCounts {
		if want[c.Status] != c.Count {
			t.Fatalf("status %s: %d units, want %d", c.Status, c.Count, want[c.Status])
		}
	}
	if len(sg.StatusCounts) != len(want) {
		t.Fatalf("want a count for every status, got %+v", sg.StatusCounts)
	}
}

func TestSalesGridRefusesOtherIDs(t *testing.T) {
	env := apitest.New(t)
	env.Project(t, "滨江·云玺", 1, 1, 1)
	u := env.Client.Unit.Query().FirstX(apitest.System())
	for _, tc := range []struct{ name, id, code, field string }{
		{"a unit's ID", string(u.ID), "BAD_USER_INPUT", "projectId"},
		{"garbage", "1; DROP TABLE units", "BAD_USER_INPUT", "projectId"},
		{"a project that does not exist", "PJ01ARZ3NDEKTSV4RRFFQ69G5FAV", "NOT_FOUND", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := env.Query(t, gridQuery, map[string]any{"p": tc.id})
			e := res.OnlyError(t)
			if e.Code() != tc.code || e.Field() != tc.field {
				t.Fatalf("want %s on %q, got %s", tc.code, tc.field, res.Body)
			}
		})
	}
}
