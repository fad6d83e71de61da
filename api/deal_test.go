package api_test

import (
	"sync"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/customer"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
)

const reserveMutation = `mutation($u: ID!, $c: ID!, $d: Int) {
  reserveUnit(input: {unitId: $u, customerId: $c, discountBp: $d, deposit: "50000.00", paymentMethod: MORTGAGE}) {
    deal { id stage price discountBp deposit unit { status } customer { stage } }
  }
}`

type reserved struct {
	ReserveUnit struct {
		Deal struct {
			ID, Stage, Price, Deposit string
			DiscountBp                int
			Unit                      struct{ Status string }
			Customer                  struct{ Stage string }
		}
	}
}

func TestDealLifecycle(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	a1 := env.As(t, viewers[0])
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(ctx)
	u, c := units[0], customers[0]
	reserve := func(caller *apitest.Caller, discount int) *apitest.Response {
		return caller.Query(t, reserveMutation, map[string]any{"u": u.ID, "c": c.ID, "d": discount})
	}

	// Not holding the unit: CONFLICT, nothing changed.
	if e := reserve(a1, 0).OnlyError(t); e.Code() != "CONFLICT" || e.Field() != "input.unitId" {
		t.Fatalf("reserving without a hold: %+v", e)
	}
	a1.Query(t, holdMutation, map[string]any{"u": u.ID, "c": c.ID}).Decode(t, &struct{}{})
	// Another agent, or a discount over the agent cap (3%): refused, the hold stays.
	if e := env.As(t, viewers[1]).Query(t, reserveMutation, map[string]any{"u": u.ID, "c": customers[1].ID, "d": 0}).OnlyError(t); e.Code() != "CONFLICT" {
		t.Fatalf("reserving another agent's hold: %+v", e)
	}
	if e := reserve(a1, 301).OnlyError(t); e.Code() != "FORBIDDEN" || e.Field() != "input.discountBp" {
		t.Fatalf("a discount over the cap: %+v", e)
	}
	if got := env.Client.Unit.GetX(ctx, u.ID); got.Status != unit.StatusHELD || env.Client.Deal.Query().CountX(ctx) != 0 {
		t.Fatalf("a refused reservation changed something: %s", got.Status)
	}
	// Within the cap: reserved at the list price less 2%.
	var r reserved
	reserve(a1, 200).Decode(t, &r)
	d := r.ReserveUnit.Deal
	want := (int64(u.ListPrice) * 9800 / 10000)
	if d.Stage != "RESERVED" || d.Price != moneyString(want) || d.Deposit != "50000.00" || d.Unit.Status != "RESERVED" || d.Customer.Stage != "RESERVED" {
		t.Fatalf("reserved %+v (list %s)", d, u.ListPrice)
	}
	// The agent signs; then only a manager may cancel, and the unit is free again.
	var signed struct {
		ContractDeal struct{ Deal struct{ Stage string } }
	}
	a1.Query(t, `mutation($d: ID!) { contractDeal(input: {dealId: $d}) { deal { stage } } }`, map[string]any{"d": d.ID}).Decode(t, &signed)
	if signed.ContractDeal.Deal.Stage != "CONTRACTED" || env.Client.Unit.GetX(ctx, u.ID).Status != unit.StatusCONTRACTED ||
		env.Client.Customer.GetX(ctx, c.ID).Stage != customer.StageCONTRACTED {
		t.Fatalf("signing did not move deal, unit and customer together")
	}
	cancel := `mutation($d: ID!) { cancelDeal(input: {dealId: $d, reason: "贷款未批"}) { deal { stage } } }`
	if e := a1.Query(t, cancel, map[string]any{"d": d.ID}).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Fatalf("an agent cancelled a deal: %+v", e)
	}
	env.As(t, manager).Query(t, cancel, map[string]any{"d": d.ID}).Decode(t, &struct{}{})
	if got := env.Client.Unit.GetX(ctx, u.ID); got.Status != unit.StatusAVAILABLE {
		t.Fatalf("a cancelled deal left the unit %s", got.Status)
	}
}

// A manager may give more than the agent cap.
func TestManagerDiscountOverTheCap(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	mu, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	c := env.Client.Customer.Create().SetProjectID(p.ID).SetName("王伟").SetPhone("13800138000").
		SetSource(customer.SourceWALK_IN).SetOwnerID(mu.ID).SaveX(apitest.System())
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	m := env.As(t, manager)
	m.Query(t, holdMutation, map[string]any{"u": u.ID, "c": c.ID}).Decode(t, &struct{}{})
	var r reserved
	m.Query(t, reserveMutation, map[string]any{"u": u.ID, "c": c.ID, "d": 800}).Decode(t, &r)
	if r.ReserveUnit.Deal.DiscountBp != 800 {
		t.Fatalf("manager's reservation %+v", r)
	}
}

// Many reservations of one held unit at once: one deal, the rest CONFLICT.
func TestConcurrentReservationsHaveOneWinner(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	a1 := env.As(t, viewers[0])
	a1.Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	const n = 50
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := a1.Query(t, reserveMutation, map[string]any{"u": u.ID, "c": customers[0].ID, "d": 0})
			codes[i] = "OK"
			if len(res.Errors) > 0 {
				codes[i] = res.Errors[0].Code()
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, c := range codes {
		count[c]++
	}
	if count["OK"] != 1 || count["CONFLICT"] != n-1 || env.Client.Deal.Query().CountX(apitest.System()) != 1 {
		t.Fatalf("reservations: %v, deals %d", count, env.Client.Deal.Query().CountX(apitest.System()))
	}
}

func moneyString(fen int64) string { return money.Fen(fen).String() }
