package rule_test

import (
	"testing"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/rule"
)

// UnitsAsRead reads a lapsed hold as an available unit held by nobody, in
// the statement itself: its ordering and conditions on status and on the
// holder see it so, a live hold keeps its holder and expiry (a time on
// SQLite too), and the arguments before and after it keep their places on
// PostgreSQL.
func TestUnitsAsRead(t *testing.T) {
	w := newWorld(t)
	c := w.client
	read := func(at time.Time, ps ...func(*ent.UnitQuery)) string {
		q := c.Unit.Query().Where(unit.ProjectID(w.ids["P"]), rule.UnitsAsRead(at), unit.NumberNEQ("none")).
			Order(ent.Desc(unit.FieldStatus), ent.Asc(unit.FieldNumber))
		for _, p := range ps {
			p(q)
		}
		units, err := q.All(w.at("admin", at))
		if err != nil {
			return err.Error()
		}
		out := ""
		for _, u := range units {
			out += w.label(string(u.ID)) + ":" + string(u.Status)
			if u.HeldByID != nil {
				out += ":" + w.label(string(*u.HeldByID))
			}
			if u.HoldExpiresAt != nil {
				out += ":" + u.HoldExpiresAt.UTC().Format(time.TimeOnly)
			}
			out += " "
		}
		return out
	}
	live := w.now.Add(20 * time.Minute).Format(time.TimeOnly)
	for _, tc := range []struct {
		name string
		at   time.Time
		ps   []func(*ent.UnitQuery)
		want string
	}{
		{"now", w.now, nil, "uLive:HELD:A:" + live + " uSold:DELIVERED uLapsed:AVAILABLE uFree:AVAILABLE "},
		{"held", w.now, []func(*ent.UnitQuery){func(q *ent.UnitQuery) { q.Where(unit.StatusEQ(unit.StatusHELD)) }}, "uLive:HELD:A:" + live + " "},
		{"held by A", w.now, []func(*ent.UnitQuery){func(q *ent.UnitQuery) { q.Where(unit.HasHeldByWith(user.ID(w.ids["A"]))) }}, "uLive:HELD:A:" + live + " "},
		{"after the live hold ran out", w.now.Add(20 * time.Minute), nil, "uSold:DELIVERED uLive:AVAILABLE uLapsed:AVAILABLE uFree:AVAILABLE "},
	} {
		if got := read(tc.at, tc.ps...); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
