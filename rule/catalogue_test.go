package rule_test

import (
	"errors"
	"testing"
	"time"

	"estatecrm/ent"
	"estatecrm/ent/privacy"
	"estatecrm/ent/unit"
	"estatecrm/money"
)

// TestCatalogueRules: who may create and change projects, buildings and
// units, on the ent client itself, per role. An admin everything; manager M
// of P updates P (not Q), creates and updates P's buildings and units, and
// does not create a project; agents A and C, homeowner H and a portal change
// nothing of the catalogue; anonymous is refused.
func TestCatalogueRules(t *testing.T) {
	w := newWorld(t)
	c := w.client
	outcome := func(err error) string {
		switch {
		case err == nil:
			return "ok"
		case ent.IsNotFound(err):
			return "not found"
		case errors.Is(err, privacy.Deny):
			return "denied"
		}
		return err.Error()
	}
	ops := []struct {
		name string
		run  func(who string) error
		want map[string]string
	}{
		{"create a project", func(who string) error {
			return c.Project.Create().SetName("new " + who).SetCity("杭州").Exec(w.as(who))
		}, map[string]string{"admin": "ok"}},
		{"update project P", func(who string) error {
			return c.Project.UpdateOneID(w.ids["P"]).SetDistrict(who).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "ok"}},
		{"update project Q", func(who string) error {
			return c.Project.UpdateOneID(w.ids["Q"]).SetDistrict(who).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "not found"}},
		{"create a building in P", func(who string) error {
			return c.Building.Create().SetProjectID(w.ids["P"]).SetName("P " + who).SetFloors(9).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "ok"}},
		{"create a building in Q", func(who string) error {
			return c.Building.Create().SetProjectID(w.ids["Q"]).SetName("Q " + who).SetFloors(9).Exec(w.as(who))
		}, map[string]string{"admin": "ok"}},
		{"update building of P", func(who string) error {
			return c.Building.UpdateOneID(w.ids["bP"]).SetUnitsPerFloor(6).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "ok"}},
		{"update building of Q", func(who string) error {
			return c.Building.UpdateOneID(w.ids["bQ"]).SetUnitsPerFloor(6).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "not found"}},
		{"create a unit in P", func(who string) error {
			return c.Unit.Create().SetProjectID(w.ids["P"]).SetBuildingID(w.ids["bP"]).SetFloor(2).
				SetNumber("2" + who).SetBedrooms(2).SetLivingRooms(1).SetBathrooms(1).SetGrossArea(90).
				SetNetArea(70).SetOrientation(unit.OrientationSOUTH).SetListPrice(money.Yuan(2_000_000)).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "ok"}},
		{"create a unit in Q", func(who string) error {
			return c.Unit.Create().SetProjectID(w.ids["Q"]).SetBuildingID(w.ids["bQ"]).SetFloor(2).
				SetNumber("2" + who).SetBedrooms(2).SetLivingRooms(1).SetBathrooms(1).SetGrossArea(90).
				SetNetArea(70).SetOrientation(unit.OrientationSOUTH).SetListPrice(money.Yuan(2_000_000)).Exec(w.as(who))
		}, map[string]string{"admin": "ok"}},
		{"describe unit uFree of P", func(who string) error {
			return c.Unit.UpdateOneID(w.ids["uFree"]).SetBedrooms(4).SetDecoration(unit.DecorationFURNISHED).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "ok"}},
		{"describe unit uQ of Q", func(who string) error {
			return c.Unit.UpdateOneID(w.ids["uQ"]).SetNetArea(75).Exec(w.as(who))
		}, map[string]string{"admin": "ok", "M": "not found"}},
	}
	for _, op := range ops {
		for _, who := range roles {
			want := op.want[who]
			switch {
			case want != "":
			case who == "anonymous":
				want = "authentication required"
			default:
				want = "denied"
			}
			if got := outcome(op.run(who)); got != want {
				t.Errorf("%s as %s: %s, want %s", op.name, who, got, want)
			}
		}
	}
	// An agent's own sales writes of a unit (a hold) still pass: the rule
	// stops only the description.
	if err := c.Unit.UpdateOneID(w.ids["uFree"]).SetStatus(unit.StatusHELD).SetHeldByID(w.ids["A"]).
		SetHeldForID(w.ids["cA"]).SetHoldExpiresAt(w.now.Add(10 * time.Minute)).Exec(w.as("A")); err != nil {
		t.Errorf("an agent's hold: %v", err)
	}
}
