package api_test

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
)

// TestTimeRulesFollowTheServersClock: the rules that depend on time — a
// lapsed hold, the public pool — read the server's injected clock (here the
// test's), the same one the resolvers use, never the machine's: moved past
// a hold's end, the unit reads as available; past a customer's protection,
// another agent of the project claims them. Before issue 9 both read
// time.Now and disagreed with the domain's clock.
func TestTimeRulesFollowTheServersClock(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	status := func() string {
		var out struct{ Node struct{ Status string } }
		w.Caller(t, "A2").Query(t, `query($id: ID!) { node(id: $id) { ... on Unit { status } } }`,
			map[string]any{"id": w.ID("uHeld")}).Decode(t, &out)
		return out.Node.Status
	}
	if got := status(); got != "HELD" {
		t.Fatalf("uHeld now: %s, want HELD", got)
	}
	later := w.Now.Add(31 * time.Minute)
	env.Now = func() time.Time { return later }
	if got := status(); got != "AVAILABLE" {
		t.Errorf("uHeld 31 minutes on the server's clock: %s, want AVAILABLE", got)
	}

	later = w.Now.Add(31 * 24 * time.Hour) // cA1 was protected for 30 days
	var out struct {
		ClaimCustomer struct {
			Customer struct{ Attribution struct{ Rule string } }
		}
	}
	w.Caller(t, "A2").Query(t, `mutation($id: ID!) { claimCustomer(input: {customerId: $id}) { customer { attribution { rule } } } }`,
		map[string]any{"id": w.ID("cA1")}).Decode(t, &out)
	if got := out.ClaimCustomer.Customer.Attribution.Rule; got != "CLAIMED" {
		t.Errorf("A2 claiming cA1 31 days on: %q, want CLAIMED", got)
	}
}
