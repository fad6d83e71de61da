package api_test

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/ent/visit"
)

const cancelDealMutation = `mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "客户退房"}) { deal { id stage } } }`

// A sale already handed over is not cancelled: CONFLICT, and the deal, the
// unit and what the homeowner sees stay as they were.
func TestCancelDeliveredDealRefused(t *testing.T) {
	w := apitest.New(t).World(t)
	sys := apitest.System()
	w.Env.Client.Unit.UpdateOneID(w.ID("uH1")).SetStatus(unit.StatusDELIVERED).ExecX(sys)
	for _, actor := range []string{"MA", "admin"} {
		res := w.Caller(t, actor).Query(t, cancelDealMutation, map[string]any{"d": w.ID("dH1")})
		if e := res.OnlyError(t); e.Code() != "CONFLICT" {
			t.Fatalf("%s cancelled a delivered sale: %s", actor, res.Body)
		}
	}
	if d := w.Env.Client.Deal.GetX(sys, w.ID("dH1")); d.Stage != deal.StageCONTRACTED || d.CancelledAt != nil {
		t.Fatalf("the refused cancel changed the deal: %s", d.Stage)
	}
	if u := w.Env.Client.Unit.GetX(sys, w.ID("uH1")); u.Status != unit.StatusDELIVERED {
		t.Fatalf("the refused cancel changed the unit: %s", u.Status)
	}
	h1 := w.Caller(t, "H1")
	if got := authzRender(w, h1.Query(t, `{ units(first: 5) { edges { node { id } } } complaints(first: 5) { edges { node { id } } } }`, nil)); got != "{complaints=[cpH1],units=[uH1]}" {
		t.Fatalf("the homeowner sees %s", got)
	}
}

// After a cancel the customer's stage is what the rest of their history
// says: another live deal, else an in-person visit (VISITED), else LEAD.
func TestCancelDealStageFollowsHistory(t *testing.T) {
	w := apitest.New(t).World(t)
	sys := apitest.System()
	c := w.Env.Client
	stage := func(label string) customer.Stage { return c.Customer.GetX(sys, w.ID(label)).Stage }
	ma := w.Caller(t, "MA")

	// cA1 reserved uR (dR) and came in person (vA1): back to VISITED.
	ma.Query(t, cancelDealMutation, map[string]any{"d": w.ID("dR")}).Decode(t, &struct{}{})
	if got := stage("cA1"); got != customer.StageVISITED {
		t.Fatalf("cA1 after the cancel: %s, want VISITED", got)
	}

	// cA2 has two deals: cancelling the reserved one leaves the contracted one.
	mk := func(u string, st deal.Stage, us unit.Status) string {
		d := c.Deal.Create().SetUnitID(w.ID(u)).SetCustomerID(w.ID("cA2")).SetAgentID(w.ID("A2")).SetProjectID(w.ID("pA")).
			SetStage(st).SetPrice(1).SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(time.Now()).SaveX(sys)
		c.Unit.UpdateOneID(w.ID(u)).SetStatus(us).ClearHeldByID().ClearHeldForID().ClearHoldExpiresAt().ExecX(sys)
		return string(d.ID)
	}
	mk("uFree", deal.StageCONTRACTED, unit.StatusCONTRACTED)
	second := mk("uHeld", deal.StageRESERVED, unit.StatusRESERVED)
	c.Customer.UpdateOneID(w.ID("cA2")).SetStage(customer.StageCONTRACTED).ExecX(sys)
	ma.Query(t, cancelDealMutation, map[string]any{"d": second}).Decode(t, &struct{}{})
	if got := stage("cA2"); got != customer.StageCONTRACTED {
		t.Fatalf("cA2 after cancelling one of two deals: %s, want CONTRACTED", got)
	}

	// A customer with a phone call only, no visit in person: LEAD.
	c.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusAVAILABLE).ExecX(sys)
	lead := c.Customer.Create().SetProjectID(w.ID("pA")).SetName("电话客").SetPhone("13900000001").
		SetSource(customer.SourceHOTLINE).SetOwnerID(w.ID("A1")).SetStage(customer.StageRESERVED).SaveX(sys)
	c.Visit.Create().SetAgentID(w.ID("A1")).SetCustomerID(lead.ID).SetProjectID(w.ID("pA")).
		SetKind(visit.KindPHONE_CALL).SetOccurredAt(time.Now().Add(-time.Hour)).ExecX(sys)
	d := c.Deal.Create().SetUnitID(w.ID("uHeld")).SetCustomerID(lead.ID).SetAgentID(w.ID("A1")).SetProjectID(w.ID("pA")).
		SetStage(deal.StageRESERVED).SetPrice(1).SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(time.Now()).SaveX(sys)
	c.Unit.UpdateOneID(w.ID("uHeld")).SetStatus(unit.StatusRESERVED).ExecX(sys)
	ma.Query(t, cancelDealMutation, map[string]any{"d": d.ID}).Decode(t, &struct{}{})
	if got := c.Customer.GetX(sys, lead.ID).Stage; got != customer.StageLEAD {
		t.Fatalf("a phone-only customer after the cancel: %s, want LEAD", got)
	}
}

// activateOwner answers with the new homeowner's own record, however deep
// the payload asks (user { customer { … } } failed UNAUTHENTICATED and rolled
// the login back); a failure leaves no login and the code unspent.
func TestActivateOwnerPayloadIsReadable(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	u := env.Client.Unit.Query().Order(unit.ByNumber()).FirstX(ctx)
	c := customers[0]
	env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
	env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(c.ID).SetAgentID(viewers[0].UserID).SetProjectID(p.ID).
		SetStage(deal.StageCONTRACTED).SetPrice(u.ListPrice).SetPaymentMethod(deal.PaymentMethodFULL).
		SetReservedAt(time.Now()).SetContractedAt(time.Now()).ExecX(ctx)
	var d struct {
		DeliverUnit struct{ ActivationCode string }
	}
	env.As(t, manager).Query(t, `mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { activationCode } }`, map[string]any{"u": u.ID}).Decode(t, &d)
	code := d.DeliverUnit.ActivationCode

	const activate = `mutation($c: String!, $l: String!, $p: String!) { activateOwner(input: {code: $c, login: $l, password: $p}) {
	  user { id login role customer { id name phone stage deals(first: 5) { edges { node { stage unit { id number status } } } } } } } }`
	// Failures first: a login already taken, a weak password. Nothing is
	// created and the code stays good.
	env.User(t, user.RoleAGENT, "taken.login", p)
	for _, bad := range []map[string]any{
		{"c": code, "l": "taken.login", "p": "my-new-home-1"},
		{"c": code, "l": "owner.new", "p": "x"},
	} {
		if res := env.Anonymous().Query(t, activate, bad); len(res.Errors) == 0 {
			t.Fatalf("a bad activation succeeded: %s", res.Body)
		}
	}
	if env.Client.User.Query().Where(user.RoleEQ(user.RoleOWNER)).ExistX(ctx) || env.Client.ActivationCode.Query().OnlyX(ctx).UsedAt != nil {
		t.Fatal("a failed activation left a login or spent the code")
	}

	res := env.Anonymous().Query(t, activate, map[string]any{"c": code, "l": "owner.new", "p": "my-new-home-1"})
	var a struct {
		ActivateOwner struct {
			User struct {
				ID, Login, Role string
				Customer        struct {
					ID, Name, Phone, Stage string
					Deals                  struct {
						Edges []struct {
							Node struct {
								Stage string
								Unit  struct{ ID, Number, Status string }
							}
						}
					}
				}
			}
		}
	}
	res.Decode(t, &a)
	got := a.ActivateOwner.User
	if got.Role != "OWNER" || got.Login != "owner.new" || got.Customer.ID != string(c.ID) || got.Customer.Name != c.Name ||
		got.Customer.Phone != c.Phone || got.Customer.Stage != "OWNER" || len(got.Customer.Deals.Edges) != 1 ||
		got.Customer.Deals.Edges[0].Node.Unit.ID != string(u.ID) || got.Customer.Deals.Edges[0].Node.Unit.Status != "DELIVERED" {
		t.Fatalf("activated %s", res.Body)
	}
	if !env.Client.User.Query().Where(user.Login("owner.new"), user.CustomerID(c.ID)).ExistX(ctx) {
		t.Fatal("no login was created")
	}
	// The payload is the homeowner's alone: nothing of another customer.
	if strings.Contains(string(res.Body), "agent") {
		t.Fatalf("the payload shows staff: %s", res.Body)
	}
	// The homeowner signs in with it.
	var s struct{ Login authPayload }
	login(t, env, "owner.new", "my-new-home-1").Decode(t, &s)
}
