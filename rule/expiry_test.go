package rule_test

import (
	"slices"
	"testing"
	"time"

	"estatecrm/ent/predicate"
	"estatecrm/ent/project"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// Every unit query reads a lapsed hold as released (the Unit interceptor
// reads the table through UnitsAsRead): by status, by holder, and, through
// ExpiryReads, by expiry, which it reads as none; in a subquery of units
// (a project's hasUnitsWith), where the table is read as stored, the
// conditions agree. LapsedHold finds the lapse both in a unit query and in
// an update, which writes the table itself (the sweep).
func TestEveryUnitQueryReadsTheLapse(t *testing.T) {
	w := newWorld(t)
	c := w.client
	ctx := w.as("admin")
	now := w.now
	units := func(ps ...predicate.Unit) []string {
		t.Helper()
		us, err := c.Unit.Query().Where(append(ps, unit.ProjectID(w.ids["P"]))...).Order(unit.ByNumber()).All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, u := range us {
			out = append(out, w.label(string(u.ID)))
		}
		slices.Sort(out)
		return out
	}
	inP := func(p predicate.Unit) bool {
		t.Helper()
		ok, err := c.Project.Query().Where(project.ID(w.ids["P"]), project.HasUnitsWith(p)).Exist(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, tc := range []struct {
		name string
		p    predicate.Unit
		want []string
	}{
		{"stored HELD", unit.StatusEQ(unit.StatusHELD), []string{"uLive"}},
		{"stored AVAILABLE", unit.StatusEQ(unit.StatusAVAILABLE), []string{"uFree", "uLapsed"}},
		{"held by A", unit.HeldByID(w.ids["A"]), []string{"uLive"}},
		{"held for nobody", unit.HeldForIDIsNil(), []string{"uFree", "uLapsed", "uSold"}},
		{"lapsed", rule.LapsedHold(now), []string{"uLapsed"}},
		{"holdable", rule.Holdable(now), []string{"uFree", "uLapsed"}},
		{"expiry before now", rule.ExpiryReads(unit.HoldExpiresAtLT(now), now), nil},
		{"expiry after an hour ago", rule.ExpiryReads(unit.HoldExpiresAtGT(now.Add(-time.Hour)), now), []string{"uLive"}},
		{"expiry not the live one", rule.ExpiryReads(unit.HoldExpiresAtNEQ(now.Add(20*time.Minute)), now), nil},
		{"no expiry", rule.ExpiryReadsNil(true, now), []string{"uFree", "uLapsed", "uSold"}},
		{"an expiry", rule.ExpiryReadsNil(false, now), []string{"uLive"}},
	} {
		if got := units(tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if got := inP(tc.p); got != (len(tc.want) > 0) {
			t.Errorf("%s: project P has such a unit in a subquery: %v, want %v", tc.name, got, len(tc.want) > 0)
		}
	}
	// The sweep's update finds the lapse in the table, and the unit query
	// then reads the same.
	n, err := c.Unit.Update().Where(rule.LapsedHold(now)).
		SetStatus(unit.StatusAVAILABLE).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().Save(w.sys())
	if err != nil || n != 1 {
		t.Fatalf("the sweep's update: %d, %v; want the lapsed hold", n, err)
	}
	if got := units(unit.StatusEQ(unit.StatusAVAILABLE)); !slices.Equal(got, []string{"uFree", "uLapsed"}) {
		t.Errorf("available after the sweep: %v", got)
	}
}
