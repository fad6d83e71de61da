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

// A unit query marked StoredReadsAgree reads the table as stored, and the
// Unit interceptor fixes the fields up after the read: through StatusReads
// it finds the same units as through UnitsAsRead, counts them alike, and a
// lapsed hold loaded reads AVAILABLE, held by nobody, with no expiry. The
// caller answers for the mark: a raw condition on status under it sees the
// stored row (uLapsed is stored HELD).
func TestStoredReadsAgree(t *testing.T) {
	w := newWorld(t)
	c := w.client
	ctx := w.at("admin", w.now)
	labels := func(us []*ent.Unit) string {
		out := ""
		for _, u := range us {
			out += w.label(string(u.ID)) + ":" + string(u.Status)
			if u.HeldByID != nil || u.HeldForID != nil || u.HoldExpiresAt != nil {
				out += ":held"
			}
			out += " "
		}
		return out
	}
	inP := unit.ProjectID(w.ids["P"])
	for _, tc := range []struct {
		name string
		q    *ent.UnitQuery
		want string
	}{
		{"available, marked", c.Unit.Query().Where(inP, rule.StatusReads(unit.StatusAVAILABLE, w.now), rule.StoredReadsAgree()), "uLapsed:AVAILABLE uFree:AVAILABLE "},
		{"available", c.Unit.Query().Where(inP, rule.StatusReads(unit.StatusAVAILABLE, w.now)), "uLapsed:AVAILABLE uFree:AVAILABLE "},
		{"held, marked", c.Unit.Query().Where(inP, rule.StatusReads(unit.StatusHELD, w.now), rule.StoredReadsAgree()), "uLive:HELD:held "},
		{"no expiry, marked", c.Unit.Query().Where(inP, rule.ExpiryReadsNil(true, w.now), rule.StoredReadsAgree()), "uLapsed:AVAILABLE uFree:AVAILABLE uSold:DELIVERED "},
		{"stored HELD, marked", c.Unit.Query().Where(inP, unit.StatusEQ(unit.StatusHELD), rule.StoredReadsAgree()), "uLive:HELD:held uLapsed:AVAILABLE "},
		{"stored HELD", c.Unit.Query().Where(inP, unit.StatusEQ(unit.StatusHELD)), "uLive:HELD:held "},
	} {
		units, err := tc.q.Clone().Order(unit.ByNumber()).All(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := labels(units); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if n, err := tc.q.Clone().Count(ctx); err != nil || n != len(units) {
			t.Errorf("%s: count %d, %v; want %d", tc.name, n, err, len(units))
		}
	}
}

// Only orders on columns a lapse leaves alone read the table as stored.
func TestUnitOrderReadsStored(t *testing.T) {
	order := func(fs ...*ent.UnitOrderField) []*ent.UnitOrder {
		var out []*ent.UnitOrder
		for _, f := range fs {
			out = append(out, &ent.UnitOrder{Field: f})
		}
		return out
	}
	for _, tc := range []struct {
		order []*ent.UnitOrder
		want  bool
	}{
		{nil, true},
		{order(ent.UnitOrderFieldListPrice), true},
		{order(ent.UnitOrderFieldNumber, ent.UnitOrderFieldFloor, ent.UnitOrderFieldGrossArea, ent.UnitOrderFieldCreatedAt, ent.UnitOrderFieldUpdatedAt), true},
		{order(ent.UnitOrderFieldStatus), false},
		{order(ent.UnitOrderFieldListPrice, ent.UnitOrderFieldStatus), false},
	} {
		if got := rule.UnitOrderReadsStored(tc.order); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.order, got, tc.want)
		}
	}
}
