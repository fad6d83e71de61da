package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

// A deal's terms are more private than the deal: an agent who now owns the
// customer sees a colleague's earlier deal, but not its price, discount or
// deposit; its maker and the manager do.
func TestDealTermsHiddenFromOtherAgents(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	_, ma := env.User(t, user.RoleMANAGER, "manager.hz", p)
	a1u, a1 := env.User(t, user.RoleAGENT, "agent.hz1", p)
	a2u, a2 := env.User(t, user.RoleAGENT, "agent.hz2", p)
	u := env.Client.Unit.Query().OnlyX(ctx)
	c := env.Client.Customer.Create().SetProjectID(p.ID).SetName("王伟").SetPhone("13800138000").
		SetSource(customer.SourceWALK_IN).SetOwnerID(a1u.ID).SetProtectedUntil(time.Now().Add(24 * time.Hour)).SaveX(ctx)
	env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(c.ID).SetAgentID(a2u.ID).SetProjectID(p.ID).
		SetStage(deal.StageCANCELLED).SetPrice(money.Yuan(3_000_000)).SetDiscountBp(150).SetDeposit(money.Yuan(50_000)).
		SetPaymentMethod(deal.PaymentMethodMORTGAGE).SetReservedAt(time.Now()).ExecX(ctx)
	env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusAVAILABLE).ExecX(ctx)

	// Only the price is asked: the mask must still know whose deal it is.
	const q = `{ deals(first: 5) { edges { node { price discountBp deposit } } } }`
	type terms struct {
		Price, Deposit *string
		DiscountBp     *int
	}
	check := func(name string, res *apitest.Response, wantPrice string) {
		t.Helper()
		var out struct {
			Deals struct{ Edges []struct{ Node terms } }
		}
		res.Decode(t, &out)
		if len(out.Deals.Edges) != 1 {
			t.Fatalf("%s sees %d deals, want 1", name, len(out.Deals.Edges))
		}
		n := out.Deals.Edges[0].Node
		switch {
		case wantPrice == "" && (n.Price != nil || n.Deposit != nil || n.DiscountBp != nil):
			t.Fatalf("%s sees another agent's terms: %+v", name, n)
		case wantPrice != "" && (n.Price == nil || *n.Price != wantPrice || n.DiscountBp == nil || *n.DiscountBp != 150):
			t.Fatalf("%s should see the terms, got %+v", name, n)
		}
	}
	check("the customer's new agent", env.As(t, a1).Query(t, q, nil), "")
	check("the agent who made the deal", env.As(t, a2).Query(t, q, nil), "3000000.00")
	check("the manager", env.As(t, ma).Query(t, q, nil), "3000000.00")
}
