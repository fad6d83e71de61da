package rule_test

import (
	"testing"
	"time"

	"estatecrm/ent/customer"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/rule"
)

// NextHoldLapse answers each viewer the first lapse among the units it
// sees: staff of the project the live hold's (the lapsed one is past), a
// portal only once the project and the unit are published, a homeowner and
// an agent of another project nothing.
func TestNextHoldLapse(t *testing.T) {
	w := newWorld(t)
	live := w.now.Add(20 * time.Minute).Format(time.RFC3339)
	ask := func(at time.Time) func(string) string {
		return func(role string) string {
			got, err := rule.NextHoldLapse(w.at(role, at), w.client, w.ids["P"])
			switch {
			case err != nil:
				return outcome(err)
			case got.IsZero():
				return "none"
			}
			return got.Format(time.RFC3339)
		}
	}
	staff := map[string]string{"admin": live, "M": live, "A": live, "B": live, "anonymous": "UNAUTHENTICATED"}
	check(t, "unpublished", every("none", staff), ask(w.now))

	w.client.Project.UpdateOneID(w.ids["P"]).SetPublished(true).ExecX(w.sys())
	w.client.Unit.UpdateOneID(w.ids["uLive"]).SetPublished(true).ExecX(w.sys())
	withPortal := map[string]string{"portal": live}
	for k, v := range staff {
		withPortal[k] = v
	}
	check(t, "published", every("none", withPortal), ask(w.now))

	check(t, "after the hold lapsed", every("none", map[string]string{"anonymous": "UNAUTHENTICATED"}),
		ask(w.now.Add(21*time.Minute)))
}

// A lapsed hold is nobody's: the units held by an agent, or for a customer,
// eager-loaded or traversed, are the live holds only (every unit query reads through UnitsAsRead),
// and a read by id is untouched; on PostgreSQL too, whose numbered
// parameters the check must not shift.
func TestLapsedHoldIsHeldByNobody(t *testing.T) {
	w := newWorld(t)
	ctx := w.at("admin", w.now)
	c := w.client
	if ids, err := c.User.Query().Where(user.ID(w.ids["A"])).QueryHeldUnits().IDs(ctx); err != nil || len(ids) != 1 || ids[0] != w.ids["uLive"] {
		t.Fatalf("A's held units traversed: %v, %v", ids, err)
	}
	a, err := c.User.Query().Where(user.ID(w.ids["A"])).WithHeldUnits().Only(ctx)
	if err != nil || len(a.Edges.HeldUnits) != 1 || a.Edges.HeldUnits[0].ID != w.ids["uLive"] {
		t.Fatalf("A's held units eager-loaded: %v", err)
	}
	if _, err := c.Customer.Query().Where(customer.ProjectID(w.ids["P"])).WithHeldUnits().All(ctx); err != nil {
		t.Fatalf("customers with their held units: %v", err)
	}
	if u, err := c.Unit.Query().Where(unit.ID(w.ids["uLapsed"])).Only(ctx); err != nil || u.Status != unit.StatusAVAILABLE || u.HeldByID != nil {
		t.Fatalf("the lapsed unit by id: %v", err)
	}
	if n, err := c.Unit.Query().Where(rule.StatusReads(unit.StatusAVAILABLE, w.now), unit.ProjectID(w.ids["P"])).Count(ctx); err != nil || n != 2 {
		t.Fatalf("units of P reading AVAILABLE: %d, %v (want uLapsed and uFree)", n, err)
	}
	if n, err := c.Unit.Query().Where(rule.StatusReads(unit.StatusHELD, w.now), unit.ProjectID(w.ids["P"])).Count(ctx); err != nil || n != 1 {
		t.Fatalf("units of P reading HELD: %d, %v (want uLive)", n, err)
	}
}
