package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/deal"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
)

// activateOwner's payload is the new homeowner's however the mutation names
// it: aliased, in an inline fragment on Mutation or a named fragment, after
// another root field. The payload's viewer is put in place per operation
// (graph.PayloadViewer), for the mutations that name activateOwner only.
func TestActivateOwnerPayloadThroughFragments(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 4)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	_, manager := env.User(t, user.RoleMANAGER, "manager.hz", p)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(ctx)
	c := customers[0]
	const payload = `user { login role customer { id stage deals(first: 5) { totalCount } } }`
	for i, q := range []string{
		`mutation($c: String!, $l: String!) { owner: activateOwner(input: {code: $c, login: $l, password: "my-new-home-1"}) { ` + payload + ` } }`,
		`mutation($c: String!, $l: String!) { ... on Mutation { owner: activateOwner(input: {code: $c, login: $l, password: "my-new-home-1"}) { ` + payload + ` } } }`,
		`mutation($c: String!, $l: String!) { ...M } fragment M on Mutation { owner: activateOwner(input: {code: $c, login: $l, password: "my-new-home-1"}) { ` + payload + ` } }`,
	} {
		u := units[i]
		env.Client.Unit.UpdateOne(u).SetStatus(unit.StatusCONTRACTED).ExecX(ctx)
		env.Client.Deal.Create().SetUnitID(u.ID).SetCustomerID(c.ID).SetAgentID(viewers[0].UserID).SetProjectID(p.ID).
			SetStage(deal.StageCONTRACTED).SetPrice(u.ListPrice).SetPaymentMethod(deal.PaymentMethodFULL).
			SetReservedAt(time.Now()).SetContractedAt(time.Now()).ExecX(ctx)
		var d struct {
			DeliverUnit struct{ ActivationCode string }
		}
		env.As(t, manager).Query(t, `mutation($u: ID!) { deliverUnit(input: {unitId: $u}) { activationCode } }`,
			map[string]any{"u": u.ID}).Decode(t, &d)
		if i > 0 { // one login per customer: the next activation is of a code for a customer already active
			env.Client.User.Delete().Where(user.RoleEQ(user.RoleOWNER)).ExecX(ctx)
		}
		login := []string{"owner.alias", "owner.inline", "owner.named"}[i]
		var a struct {
			Owner struct {
				User struct {
					Login, Role string
					Customer    struct {
						ID, Stage string
						Deals     struct{ TotalCount int }
					}
				}
			}
		}
		res := env.Anonymous().Query(t, q, map[string]any{"c": d.DeliverUnit.ActivationCode, "l": login})
		res.Decode(t, &a)
		if got := a.Owner.User; got.Login != login || got.Role != "OWNER" || got.Customer.ID != string(c.ID) ||
			got.Customer.Stage != "OWNER" || got.Customer.Deals.TotalCount != i+1 {
			t.Errorf("query %d: %s", i, res.Body)
		}
	}
}
