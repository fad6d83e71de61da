package api_test

import (
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

func TestDeliveryAndHomeownerActivation(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(ctx)
	u, c := units[0], customers[0]
	env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
	env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(c.ID).SetAgentID(viewers[0].UserID).SetProjectID(p.ID).
		SetStage(deal.StageCONTRACTED).SetPrice(u.ListPrice).SetPaymentMethod(deal.PaymentMethodFULL).
		SetReservedAt(time.Now()).SetContractedAt(time.Now()).ExecX(ctx)

	const deliver = `mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { unit { status } activationCode expiresAt } }`
	if e := env.As(t, viewers[0]).Query(t, deliver, map[string]any{"u": u.ID}).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Fatalf("an agent delivered: %+v", e)
	}
	if e := env.As(t, manager).Query(t, deliver, map[string]any{"u": units[1].ID}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("delivering an available unit: %+v", e)
	}
	var d struct {
		DeliverUnit struct {
			Unit           struct{ Status string }
			ActivationCode string
		}
	}
	env.As(t, manager).Query(t, deliver, map[string]any{"u": u.ID}).Decode(t, &d)
	code := d.DeliverUnit.ActivationCode
	if d.DeliverUnit.Unit.Status != "DELIVERED" || len(code) != 10 || env.Client.Customer.GetX(ctx, c.ID).Stage != "OWNER" {
		t.Fatalf("delivered %+v", d)
	}
	if n := env.Client.ActivationCode.Query().CountX(ctx); n != 1 || strings.Contains(env.Client.ActivationCode.Query().OnlyX(ctx).CodeHash, code) {
		t.Fatal("the activation code is not stored hashed")
	}

	const activate = `mutation($c: String!, $l: String!) { activateOwner(input: {code: $c, login: $l, password: "my-new-home-1"}) { user { role } } }`
	// Typed from paper: lower case, with a space.
	typed := strings.ToLower(code[:5]) + " " + code[5:]
	var a struct {
		ActivateOwner struct{ User struct{ Role string } }
	}
	env.Anonymous().Query(t, activate, map[string]any{"c": typed, "l": "owner.new"}).Decode(t, &a)
	if a.ActivateOwner.User.Role != "OWNER" {
		t.Fatalf("activated %+v", a)
	}
	if e := env.Anonymous().Query(t, activate, map[string]any{"c": code, "l": "owner.again"}).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.code" {
		t.Fatalf("a used code: %+v", e)
	}
	// The homeowner signs in and sees their unit, and only it.
	var s struct{ Login authPayload }
	login(t, env, "owner.new", "my-new-home-1").Decode(t, &s)
	var mine struct {
		Units struct {
			Edges []struct{ Node struct{ ID, Status string } }
		}
	}
	bearer(env, s.Login.AccessToken).Query(t, `{ units(first: 10) { edges { node { id status } } } }`, nil).Decode(t, &mine)
	if len(mine.Units.Edges) != 1 || mine.Units.Edges[0].Node.ID != string(u.ID) {
		t.Fatalf("the homeowner sees %+v", mine)
	}
}

func TestExpiredActivationCode(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	u := env.Client.Unit.Query().OnlyX(ctx)
	env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
	env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(customers[0].ID).SetAgentID(viewers[0].UserID).SetProjectID(p.ID).
		SetStage(deal.StageCONTRACTED).SetPrice(u.ListPrice).SetPaymentMethod(deal.PaymentMethodFULL).SetReservedAt(time.Now()).ExecX(ctx)
	var d struct {
		DeliverUnit struct{ ActivationCode string }
	}
	env.As(t, manager).Query(t, `mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { activationCode } }`, map[string]any{"u": u.ID}).Decode(t, &d)
	now := time.Now().Add(15 * 24 * time.Hour)
	env.Now = func() time.Time { return now }
	res := env.Anonymous().Query(t, `mutation($c: String!) { activateOwner(input: {code: $c, login: "late", password: "my-new-home-1"}) { user { id } } }`,
		map[string]any{"c": d.DeliverUnit.ActivationCode})
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" {
		t.Fatalf("an expired code: %s", res.Body)
	}
	if env.Client.User.Query().Where(user.Login("late")).ExistX(ctx) {
		t.Fatal("an expired code opened a login")
	}
}
