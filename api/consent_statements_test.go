package api_test

// Customer.consentHistory on a page of customers: a constant number of
// statements whatever the page's size (SPEC.md §6), the same rows and
// rules as for one customer (issue 11, part 2).

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/user"
)

// consentPage is a page of customers with their consent histories.
type consentPage struct {
	Customers struct {
		Edges []struct {
			Node struct {
				ID             string
				ConsentHistory []struct{ Kind, CreatedAt string }
			}
		}
	}
}

// A page of 3, 20 or 50 customers with their consent histories costs the
// same statements (before: one more per customer, 51 for a page of 50),
// for a manager (every history of the project) and an agent (its own
// customers' histories; a public-pool customer it may read shows none).
// Each history is newest first and the latest 100, as for one customer
// (node) and for a mutation's payload.
func TestConsentHistoryStatementsIndependentOfPageSize(t *testing.T) {
	env := apitest.New(t)
	ctx := apitest.System()
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	a1u, a1 := env.User(t, user.RoleAGENT, "agent.1", p)
	a2u, _ := env.User(t, user.RoleAGENT, "agent.2", p)
	_, manager := env.User(t, user.RoleMANAGER, "manager", p)

	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	kinds := []consentevent.Kind{consentevent.KindGIVEN, consentevent.KindCHANGED, consentevent.KindWITHDRAWN}
	history := func(c *ent.Customer, n int) []string {
		var want []string
		for i := range n {
			k := kinds[min(i, 2)]
			e := env.Client.ConsentEvent.Create().SetCustomerID(c.ID).SetKind(k).
				SetConsent(k != consentevent.KindWITHDRAWN).SetCreatedAt(base.Add(time.Duration(i) * time.Minute))
			if k != consentevent.KindWITHDRAWN {
				e.SetChannels([]schematype.ContactChannel{schematype.ContactChannel("SMS")})
			}
			e.SaveX(ctx)
			want = append([]string{string(k)}, want...) // newest first
		}
		return want
	}
	newCustomer := func(i int, owner *ent.User, protected time.Duration) *ent.Customer {
		return env.Client.Customer.Create().SetProjectID(p.ID).SetName(fmt.Sprintf("客户%d", i)).
			SetPhone(fmt.Sprintf("1370000%04d", i)).SetSource(customer.SourceWALK_IN).SetOwnerID(owner.ID).
			SetProtectedUntil(time.Now().Add(protected)).SaveX(ctx)
	}
	// Ids grow with time: the 3 public-pool customers of A2 come first in
	// a page, then A1's 20 with 1 to 3 events each, then A1's with 101.
	want := map[string][]string{} // by customer, as the manager reads it
	pool := map[string]bool{}
	for i := range 3 {
		c := newCustomer(i, a2u, -time.Hour)
		want[string(c.ID)], pool[string(c.ID)] = history(c, 1+i%3), true
	}
	for i := 3; i < 23; i++ {
		c := newCustomer(i, a1u, 24*time.Hour)
		want[string(c.ID)] = history(c, 1+i%3)
	}
	long := newCustomer(23, a1u, 24*time.Hour)
	want[string(long.ID)] = history(long, 101)[:100]
	env.Counter.Record()

	const query = `query($n: Int!) { customers(first: $n) { edges { node { id consentHistory { kind createdAt } } } } }`
	for _, tc := range []struct {
		name   string
		viewer *auth.Viewer
	}{{"manager", manager}, {"agent", a1}} {
		t.Run(tc.name, func(t *testing.T) {
			counts := map[int]int64{}
			for _, n := range []int{3, 20, 50} {
				env.Counter.Reset()
				var page consentPage
				env.As(t, tc.viewer).Query(t, query, map[string]any{"n": n}).Decode(t, &page)
				counts[n] = env.Counter.Count()
				t.Logf("a page of %d: %d statements", n, counts[n])
				if got := len(page.Customers.Edges); got != min(n, 24) {
					t.Fatalf("a page of %d: %d customers", n, got)
				}
				for _, e := range page.Customers.Edges {
					var got []string
					for _, h := range e.Node.ConsentHistory {
						got = append(got, h.Kind)
					}
					exp := want[e.Node.ID]
					if tc.viewer == a1 && pool[e.Node.ID] {
						exp = nil // A1 reads A2's pool customer, not in full
					}
					if !slices.Equal(got, exp) {
						t.Fatalf("a page of %d, customer %s: history %v, want %v", n, e.Node.ID, got, exp)
					}
					if h := e.Node.ConsentHistory; e.Node.ID == string(long.ID) &&
						h[0].CreatedAt != base.Add(100*time.Minute).Format(time.RFC3339) ||
						e.Node.ID == string(long.ID) && h[99].CreatedAt != base.Add(time.Minute).Format(time.RFC3339) {
						t.Fatalf("the 101 events: got %s … %s, want the latest 100 newest first", h[0].CreatedAt, h[99].CreatedAt)
					}
				}
			}
			if counts[3] != counts[20] || counts[20] != counts[50] {
				t.Fatalf("statements by page size: %v; want the same for every size", counts)
			}
			if counts[50] > 2 {
				for _, s := range env.Counter.Statements() {
					t.Logf("  %.300s", s)
				}
				t.Fatalf("a page with histories took %d statements, want 2 (customers, their histories)", counts[50])
			}
		})
	}

	// One customer (node) and a mutation's payload: the same latest 100.
	var one struct {
		Node struct {
			ConsentHistory []struct{ Kind, CreatedAt string }
		}
	}
	env.As(t, a1).Query(t, `query($id: ID!) { node(id: $id) { ... on Customer { consentHistory { kind createdAt } } } }`,
		map[string]any{"id": long.ID}).Decode(t, &one)
	if h := one.Node.ConsentHistory; len(h) != 100 || h[0].CreatedAt != base.Add(100*time.Minute).Format(time.RFC3339) ||
		h[99].CreatedAt != base.Add(time.Minute).Format(time.RFC3339) {
		t.Fatalf("node: %d events, want the latest 100 newest first", len(h))
	}
	var set struct {
		SetContactConsent struct {
			Customer struct{ ConsentHistory []struct{ Kind string } }
		}
	}
	env.As(t, a1).Query(t, `mutation($id: ID!) { setContactConsent(input: {customerId: $id, consent: true, channels: [PHONE]}) {
	  customer { consentHistory { kind } } } }`, map[string]any{"id": long.ID}).Decode(t, &set)
	if h := set.SetContactConsent.Customer.ConsentHistory; len(h) != 100 || h[0].Kind != "GIVEN" || h[1].Kind != "WITHDRAWN" {
		t.Fatalf("payload: %d events, first %v; want 100, the new GIVEN first", len(h), h[:min(2, len(h))])
	}
}
