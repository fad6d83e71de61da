// Package sales holds the sales-office workflows that span entities: the
// sales-control grid now; holds, reservations and contracts as they come.
package sales

import (
	"context"
	"slices"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/building"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// Grid is a project's sales-control grid (销控表).
type Grid struct {
	Project      *ent.Project
	Buildings    []*GridBuilding
	StatusCounts []*StatusCount
}

// GridBuilding is one building of a grid, top floor first.
type GridBuilding struct {
	Building *ent.Building
	Floors   []*GridFloor
}

// GridFloor is one floor of a building, units by door number.
type GridFloor struct {
	Floor int
	Units []*ent.Unit
}

// StatusCount is the number of a project's units in one status.
type StatusCount struct {
	Status unit.Status
	Count  int
}

// statuses lists unit statuses in the order a sale moves through them.
var statuses = []unit.Status{unit.StatusAVAILABLE, unit.StatusHELD, unit.StatusRESERVED, unit.StatusCONTRACTED, unit.StatusDELIVERED, unit.StatusWITHDRAWN}

// LoadGrid reads the grid of a project in three statements, whatever its size:
// the project, its buildings, its units. Each unit carries its project and
// building so that clients asking for them cost no further query.
func LoadGrid(ctx context.Context, client *ent.Client, projectID pulid.ID) (*Grid, error) {
	if !ent.IDOfType(projectID, project.Table) {
		return nil, apperr.Input("projectId", "not the ID of a project")
	}
	p, err := client.Project.Get(ctx, projectID)
	if err != nil {
		return nil, err
	}
	buildings, err := client.Building.Query().
		Where(building.ProjectID(projectID)).
		Order(ent.Asc(building.FieldName)).
		All(ctx)
	if err != nil {
		return nil, err
	}
	units, err := client.Unit.Query().
		Where(unit.ProjectID(projectID)).
		Order(ent.Asc(unit.FieldBuildingID), ent.Desc(unit.FieldFloor), ent.Asc(unit.FieldNumber)).
		All(ctx)
	if err != nil {
		return nil, err
	}
	g := assemble(p, buildings, units, rule.IsStaff(auth.FromContext(ctx)))
	if note, ok := ctx.Value(lapseKey{}).(*time.Time); ok {
		if *note, err = nextLapse(ctx, client, projectID, units); err != nil {
			return nil, err
		}
	}
	return g, nil
}

type lapseKey struct{}

// NoteLapse returns a context in which LoadGrid notes, in the time
// returned, when the grid it loaded stops being true by itself: the earliest
// expiry of a live hold among the project's units, after which that unit
// reads as available (rule.HoldLapsed); zero if no hold runs out. A cache of
// grid answers keeps one no longer than that.
func NoteLapse(ctx context.Context) (context.Context, *time.Time) {
	t := new(time.Time)
	return context.WithValue(ctx, lapseKey{}, t), t
}

// nextLapse is the earliest expiry of a live hold among the units loaded.
// Staff see each unit's expiry; others see a held unit without it
// (maskHolds), and then a probe of package rule answers the moment.
func nextLapse(ctx context.Context, client *ent.Client, projectID pulid.ID, units []*ent.Unit) (time.Time, error) {
	var first time.Time
	for _, u := range units {
		if u.Status != unit.StatusHELD {
			continue
		}
		if u.HoldExpiresAt == nil {
			if rule.IsStaff(auth.FromContext(ctx)) {
				continue // held with no end: it never lapses
			}
			return rule.NextHoldLapse(ctx, client, projectID)
		}
		if first.IsZero() || u.HoldExpiresAt.Before(first) {
			first = *u.HoldExpiresAt
		}
	}
	return first, nil
}

// assemble builds the grid of the units read. Only staff count withdrawn
// units: nobody else ever sees one (rule.UnitsVisibleTo), nor the status.
func assemble(p *ent.Project, buildings []*ent.Building, units []*ent.Unit, staff bool) *Grid {
	g := &Grid{Project: p}
	byID := make(map[pulid.ID]*GridBuilding, len(buildings))
	for _, b := range buildings {
		gb := &GridBuilding{Building: b}
		byID[b.ID] = gb
		g.Buildings = append(g.Buildings, gb)
	}
	counts := map[unit.Status]int{}
	for _, u := range units {
		gb := byID[u.BuildingID]
		if gb == nil {
			continue // a unit is never without its building; skip rather than fail the grid
		}
		u.Edges.Project, u.Edges.Building = p, gb.Building
		counts[u.Status]++
		if n := len(gb.Floors); n == 0 || gb.Floors[n-1].Floor != u.Floor {
			gb.Floors = append(gb.Floors, &GridFloor{Floor: u.Floor})
		}
		f := gb.Floors[len(gb.Floors)-1]
		f.Units = append(f.Units, u)
	}
	for _, gb := range g.Buildings {
		for _, f := range gb.Floors {
			// Door numbers sort by length first so that 901 comes before 1001.
			slices.SortFunc(f.Units, func(a, b *ent.Unit) int {
				if len(a.Number) != len(b.Number) {
					return len(a.Number) - len(b.Number)
				}
				return strings.Compare(a.Number, b.Number)
			})
		}
	}
	for _, s := range statuses {
		if s == unit.StatusWITHDRAWN && !staff {
			continue
		}
		g.StatusCounts = append(g.StatusCounts, &StatusCount{Status: s, Count: counts[s]})
	}
	return g
}
