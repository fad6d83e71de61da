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

// A portal and a homeowner see a project and a held unit, but not the sales
// office's rules nor who holds the unit; staff see both.
func TestInternalFieldsHiddenFromPortalsAndHomeowners(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	au, agent := env.User(t, user.RoleAGENT, "agent.hz1", p)
	c := env.Client.Customer.Create().SetProjectID(p.ID).SetName("王伟").SetPhone("13800138000").
		SetSource(customer.SourceWALK_IN).SetOwnerID(au.ID).SaveX(ctx)
	env.Client.Unit.Update().SetStatus(unit.StatusHELD).SetHeldByID(au.ID).SetHeldForID(c.ID).
		SetHoldExpiresAt(time.Now().Add(20 * time.Minute)).ExecX(ctx)
	key := createKey(t, env)

	const q = `{ projects(first: 1) { edges { node { protectionDays holdMinutes agentDiscountCapBp
	  units(first: 1) { edges { node { status heldByID heldForID holdExpiresAt } } } } } } }`
	type view struct {
		Projects struct {
			Edges []struct {
				Node struct {
					ProtectionDays, HoldMinutes, AgentDiscountCapBp *int
					Units                                           struct {
						Edges []struct {
							Node struct {
								Status                             string
								HeldByID, HeldForID, HoldExpiresAt *string
							}
						}
					}
				}
			}
		}
	}
	var staff, portal view
	env.As(t, agent).Query(t, q, nil).Decode(t, &staff)
	env.WithHeader("X-API-Key", key).Query(t, q, nil).Decode(t, &portal)

	sp, pp := staff.Projects.Edges[0].Node, portal.Projects.Edges[0].Node
	if sp.ProtectionDays == nil || *sp.ProtectionDays != 30 || sp.Units.Edges[0].Node.HeldForID == nil {
		t.Fatalf("staff should see the rules and the hold: %+v", sp)
	}
	pu := pp.Units.Edges[0].Node
	if pp.ProtectionDays != nil || pp.HoldMinutes != nil || pp.AgentDiscountCapBp != nil ||
		pu.HeldByID != nil || pu.HeldForID != nil || pu.HoldExpiresAt != nil || pu.Status != "HELD" {
		t.Fatalf("the portal sees internal fields: %+v %+v", pp, pu)
	}
}

func createKey(t *testing.T, env *apitest.Env) string {
	t.Helper()
	var out struct{ CreateAPIKey struct{ Key string } }
	env.Query(t, `mutation { createAPIKey(input: {name: "portal", rateLimitPerMinute: 6000}) { key } }`, nil).Decode(t, &out)
	return out.CreateAPIKey.Key
}
