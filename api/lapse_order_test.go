package api_test

import (
	"cmp"
	"slices"
	"strconv"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
)

// unitPage is one page of units(orderBy: STATUS) as a list of "label:status".
type unitPage struct {
	Units struct {
		Edges []struct {
			Node struct{ ID, Status string }
		}
		PageInfo struct {
			HasNextPage, HasPreviousPage bool
			StartCursor, EndCursor       *string
		}
	}
}

// A lapsed hold not yet swept sorts as it reads, among the AVAILABLE units,
// when units are ordered by status, and pages there: the cursor of that
// ordering agrees with the ordering, forwards and backwards, with the
// lapsed hold on either side of a page boundary. It used to sort as HELD
// (the stored status), and its cursor (AVAILABLE, as the field reads)
// then skipped or repeated units on the next page.
func TestLapsedHoldOrdersAsAvailable(t *testing.T) {
	w := lapseWorld(t)
	// A live hold too, whose expiry is read through the ordering.
	w.Env.Client.Unit.UpdateOneID(w.ID("uFree")).SetStatus(unit.StatusHELD).SetHeldByID(w.ID("A2")).
		SetHeldForID(w.ID("cA2")).SetHoldExpiresAt(time.Now().Add(20 * time.Minute)).ExecX(apitest.System())
	const all = `{ units(first: 100) { edges { node { id status } } } }`
	const forward = `query($d: OrderDirection!, $n: Int, $after: Cursor) {
	  units(first: $n, after: $after, orderBy: [{field: STATUS, direction: $d}]) {
	    edges { node { id status } } pageInfo { hasNextPage endCursor } } }`
	const backward = `query($d: OrderDirection!, $n: Int, $before: Cursor) {
	  units(last: $n, before: $before, orderBy: [{field: STATUS, direction: $d}]) {
	    edges { node { id status } } pageInfo { hasPreviousPage startCursor } } }`
	label := func(p unitPage) []string {
		var out []string
		for _, e := range p.Units.Edges {
			out = append(out, w.Label(e.Node.ID)+":"+e.Node.Status)
		}
		return out
	}
	for _, actor := range []string{"admin", "MA", "A1", "A2", "portal"} {
		c := w.Caller(t, actor)
		// What the actor sees, each unit with its status as read, in the
		// order of status then id (entgql's tie-break).
		var seen unitPage
		c.Query(t, all, nil).Decode(t, &seen)
		type row struct{ id, status string }
		var rows []row
		for _, e := range seen.Units.Edges {
			rows = append(rows, row{e.Node.ID, e.Node.Status})
		}
		for _, dir := range []string{"ASC", "DESC"} {
			sorted := slices.Clone(rows)
			slices.SortFunc(sorted, func(a, b row) int {
				by := cmp.Compare(a.status, b.status)
				if dir == "DESC" {
					by = -by
				}
				return cmp.Or(by, cmp.Compare(a.id, b.id))
			})
			var want []string
			for _, r := range sorted {
				want = append(want, w.Label(r.id)+":"+r.status)
			}
			if actor != "portal" && !slices.Contains(want, "uHeld:AVAILABLE") {
				t.Fatalf("%s: the lapsed hold is not read as available: %v", actor, want)
			}
			// One page of all, then pages of 1, 2 and 3 forwards, and backwards.
			var one unitPage
			c.Query(t, forward, map[string]any{"d": dir, "n": 100}).Decode(t, &one)
			if got := label(one); !slices.Equal(got, want) {
				t.Errorf("%s %s: units ordered by status = %v, want %v", actor, dir, got, want)
			}
			for _, n := range []int{1, 2, 3} {
				var got []string
				var after *string
				for range len(want) + 1 {
					var p unitPage
					c.Query(t, forward, map[string]any{"d": dir, "n": n, "after": after}).Decode(t, &p)
					got = append(got, label(p)...)
					if !p.Units.PageInfo.HasNextPage {
						break
					}
					after = p.Units.PageInfo.EndCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s %s, pages of %d forwards: %v, want %v", actor, dir, n, got, want)
				}
				got = nil
				var before *string
				for range len(want) + 1 {
					var p unitPage
					c.Query(t, backward, map[string]any{"d": dir, "n": n, "before": before}).Decode(t, &p)
					got = append(label(p), got...)
					if !p.Units.PageInfo.HasPreviousPage {
						break
					}
					before = p.Units.PageInfo.StartCursor
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s %s, pages of %d backwards: %v, want %v", actor, dir, n, got, want)
				}
			}
		}
	}
	// Ordered by status, filtered on it, with the count and the holds: the
	// lapsed hold is available and held by nobody, the live one held by A2.
	for _, actor := range []string{"admin", "MA"} {
		c := w.Caller(t, actor)
		var got struct {
			Units struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Status    string
						HeldBy        *struct{ ID string }
						HoldExpiresAt *time.Time
					}
				}
			}
		}
		c.Query(t, `{ units(first: 100, where: {statusIn: [AVAILABLE, HELD], hasProjectWith: {name: "`+w.Env.Client.Project.GetX(apitest.System(), w.ID("pA")).Name+`"}},
		  orderBy: [{field: STATUS, direction: DESC}, {field: NUMBER}]) {
		  totalCount edges { node { id status heldBy { id } holdExpiresAt } } } }`, nil).Decode(t, &got)
		var rows []string
		for _, e := range got.Units.Edges {
			r := w.Label(e.Node.ID) + ":" + e.Node.Status
			if e.Node.HeldBy != nil {
				r += ":" + w.Label(e.Node.HeldBy.ID)
			}
			if e.Node.HoldExpiresAt != nil {
				r += ":" + strconv.FormatBool(e.Node.HoldExpiresAt.After(time.Now()))
			}
			rows = append(rows, r)
		}
		if want := []string{"uFree:HELD:A2:true", "uHeld:AVAILABLE", "uUnpub:AVAILABLE"}; !slices.Equal(rows, want) || got.Units.TotalCount != 3 {
			t.Errorf("%s: units of pA available or held, by status: #%d %v, want %v", actor, got.Units.TotalCount, rows, want)
		}
	}
}
