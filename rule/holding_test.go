package rule_test

import (
	"slices"
	"testing"
	"time"

	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// A hold pending a manager's approval (HELD, no expiry) is one of its
// agent's holds (Holding, LiveHolds) and never lapses: neither LapsedHold
// nor Holdable at any time, while a live hold stops counting once it runs
// out.
func TestPendingHoldIsHeldAndNeverLapses(t *testing.T) {
	w := newWorld(t)
	c := w.client
	c.Unit.UpdateOneID(w.ids["uFree"]).SetStatus(unit.StatusHELD).SetHeldByID(w.ids["A"]).
		SetHeldForID(w.ids["cA"]).ClearHoldExpiresAt().ExecX(w.sys())
	labels := func(ids []pulid.ID) []string {
		var out []string
		for label, id := range w.ids {
			if slices.Contains(ids, id) {
				out = append(out, label)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		name           string
		at             time.Time
		holding, lapse []string
	}{
		{"now", w.now, []string{"uFree", "uLive"}, []string{"uLapsed"}},
		{"after the live hold ran out", w.now.Add(21 * time.Minute), []string{"uFree"}, []string{"uLapsed", "uLive"}},
		{"a year on", w.now.AddDate(1, 0, 0), []string{"uFree"}, []string{"uLapsed", "uLive"}},
	} {
		held := c.Unit.Query().Where(unit.HeldByID(w.ids["A"]), rule.Holding(tc.at)).IDsX(w.sys())
		if got := labels(held); !slices.Equal(got, tc.holding) {
			t.Errorf("%s: Holding = %v, want %v", tc.name, got, tc.holding)
		}
		lapsed := c.Unit.Query().Where(rule.LapsedHold(tc.at)).IDsX(w.sys())
		if got := labels(lapsed); !slices.Equal(got, tc.lapse) {
			t.Errorf("%s: LapsedHold = %v, want %v", tc.name, got, tc.lapse)
		}
		if n := c.Unit.Query().Where(unit.ID(w.ids["uFree"]), rule.Holdable(tc.at)).CountX(w.sys()); n != 0 {
			t.Errorf("%s: the pending hold is holdable", tc.name)
		}
		if n, err := rule.LiveHolds(w.at("A", tc.at), c); err != nil || n != len(tc.holding) {
			t.Errorf("%s: LiveHolds = %d, %v; want %d", tc.name, n, err, len(tc.holding))
		}
	}
}
