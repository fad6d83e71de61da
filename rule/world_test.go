package rule_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/clock"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
	"estatecrm/money"
)

// world is the fixture of the rule tests, written as the system on the ent
// client itself (no GraphQL):
//
//	projects P and Q; manager M of P, agents A and B of P, agent C of Q,
//	homeowner H (customer cH), an admin
//	customers of P: cA (A's, protected), cB (B's, protected), cPool (B's,
//	  lapsed: the pool), cH (B's, lapsed: in the pool, a homeowner); of Q: cQ (C's)
//	units of P: uLive (held by A for cA, live), uLapsed (held by A, lapsed),
//	  uFree, uSold (contracted by B for cH, delivered); of Q: uQ
//	visit: B met cA in person at t0 (an hour ago)
type world struct {
	client  *ent.Client
	now, t0 time.Time
	ids     map[string]pulid.ID
	viewers map[string]*auth.Viewer
}

// roles are the viewers a probe is asked by, besides the ones named in a case.
var roles = []string{"admin", "M", "A", "B", "C", "H", "portal", "anonymous"}

func newWorld(t *testing.T) *world {
	t.Helper()
	sys := auth.SystemContext(context.Background())
	c := dbtest.Open(t).Client()
	now := time.Now().UTC().Truncate(time.Second)
	w := &world{client: c, now: now, t0: now.Add(-time.Hour), ids: map[string]pulid.ID{}, viewers: map[string]*auth.Viewer{}}
	for _, p := range []string{"P", "Q"} {
		pr := c.Project.Create().SetName(p).SetCity("杭州").SaveX(sys)
		w.ids[p] = pr.ID
		b := c.Building.Create().SetProjectID(pr.ID).SetName("1栋").SetFloors(5).SaveX(sys)
		w.ids["b"+p] = b.ID
	}
	for _, s := range []struct {
		label   string
		role    user.Role
		project string
	}{{"admin", user.RoleADMIN, ""}, {"M", user.RoleMANAGER, "P"}, {"A", user.RoleAGENT, "P"}, {"B", user.RoleAGENT, "P"}, {"C", user.RoleAGENT, "Q"}} {
		cr := c.User.Create().SetName(s.label).SetLogin(s.label).SetRole(s.role)
		if s.project != "" {
			cr.AddProjectIDs(w.ids[s.project])
		}
		u := cr.SaveX(sys)
		w.ids[s.label] = u.ID
		w.viewers[s.label] = auth.ViewerOf(c.User.Query().Where(user.ID(u.ID)).WithProjects().OnlyX(sys))
	}
	protected, lapsed := now.Add(10*24*time.Hour), now.Add(-time.Hour)
	for i, cu := range []struct {
		label, project, owner string
		until                 time.Time
	}{
		{"cA", "P", "A", protected}, {"cB", "P", "B", protected}, {"cPool", "P", "B", lapsed},
		{"cH", "P", "B", lapsed}, {"cQ", "Q", "C", protected},
	} {
		got := c.Customer.Create().SetProjectID(w.ids[cu.project]).SetName(cu.label).
			SetPhone(phoneOf(i)).SetSource(customer.SourceWALK_IN).
			SetOwnerID(w.ids[cu.owner]).SetProtectedUntil(cu.until).SaveX(sys)
		w.ids[cu.label] = got.ID
	}
	h := c.User.Create().SetName("H").SetLogin("H").SetRole(user.RoleOWNER).SetCustomerID(w.ids["cH"]).SaveX(sys)
	w.ids["H"] = h.ID
	w.viewers["H"] = auth.ViewerOf(h)
	w.viewers["portal"] = &auth.Viewer{Role: auth.RolePortal, APIKeyID: "AK01ARZ3NDEKTSV4RRFFQ69G5FAV"}
	for i, u := range []struct{ label, project string }{{"uLive", "P"}, {"uLapsed", "P"}, {"uFree", "P"}, {"uSold", "P"}, {"uQ", "Q"}} {
		got := c.Unit.Create().SetProjectID(w.ids[u.project]).SetBuildingID(w.ids["b"+u.project]).
			SetFloor(1).SetNumber(string(rune('1'+i)) + "01").SetBedrooms(3).SetLivingRooms(2).SetBathrooms(1).
			SetGrossArea(100).SetNetArea(80).SetOrientation(unit.OrientationSOUTH).
			SetListPrice(money.Yuan(3_000_000)).SaveX(sys)
		w.ids[u.label] = got.ID
	}
	c.Unit.UpdateOneID(w.ids["uLive"]).SetStatus(unit.StatusHELD).SetHeldByID(w.ids["A"]).
		SetHeldForID(w.ids["cA"]).SetHoldExpiresAt(now.Add(20 * time.Minute)).ExecX(sys)
	c.Unit.UpdateOneID(w.ids["uLapsed"]).SetStatus(unit.StatusHELD).SetHeldByID(w.ids["A"]).
		SetHeldForID(w.ids["cA"]).SetHoldExpiresAt(now.Add(-time.Minute)).ExecX(sys)
	c.Unit.UpdateOneID(w.ids["uSold"]).SetStatus(unit.StatusDELIVERED).ExecX(sys)
	d := c.Deal.Create().SetUnitID(w.ids["uSold"]).SetCustomerID(w.ids["cH"]).SetAgentID(w.ids["B"]).
		SetProjectID(w.ids["P"]).SetStage(deal.StageCONTRACTED).SetPrice(money.Yuan(3_000_000)).
		SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(now.Add(-48 * time.Hour)).SaveX(sys)
	w.ids["dSold"] = d.ID
	c.Visit.Create().SetCustomerID(w.ids["cA"]).SetAgentID(w.ids["B"]).SetProjectID(w.ids["P"]).
		SetKind(visit.KindFIRST_VISIT).SetOccurredAt(w.t0).ExecX(sys)
	return w
}

func phoneOf(i int) string { return "+861381111000" + string(rune('0'+i)) }

// as is the context of a request by label (nil viewer for "anonymous") at
// the world's time.
func (w *world) as(label string) context.Context {
	return w.at(label, w.now)
}

// at is as, with the request's clock at t.
func (w *world) at(label string, t time.Time) context.Context {
	ctx := clock.NewContext(context.Background(), func() time.Time { return t })
	if v := w.viewers[label]; v != nil {
		ctx = auth.NewContext(ctx, v)
	}
	return ctx
}

func (w *world) sys() context.Context { return auth.SystemContext(context.Background()) }
