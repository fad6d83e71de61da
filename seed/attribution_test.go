package seed_test

import (
	"context"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/seed"
)

// TestSeededAttributionHistory: every seeded customer with an owner was
// registered by them, and says so consistently: rule REGISTERED since
// owned_since (their creation), and one history line, REGISTERED to the
// owner by the owner at owned_since, in the customer's project.
func TestSeededAttributionHistory(t *testing.T) {
	client := dbtest.Open(t).Client()
	ctx := auth.SystemContext(context.Background())
	if _, err := seed.Run(ctx, client, time.Now().UTC()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	customers := client.Customer.Query().Where(customer.OwnerIDNotNil()).WithAttributionHistory().AllX(ctx)
	if len(customers) == 0 {
		t.Fatal("no seeded customer has an owner")
	}
	for _, c := range customers {
		h := c.Edges.AttributionHistory
		switch {
		case c.AttributionRule == nil || *c.AttributionRule != customer.AttributionRuleREGISTERED ||
			c.OwnedSince == nil || !c.OwnedSince.Equal(c.CreatedAt):
			t.Fatalf("customer %s: rule %v since %v, created %v", c.ID, c.AttributionRule, c.OwnedSince, c.CreatedAt)
		case len(h) != 1 || h[0].Kind != attributionevent.KindREGISTERED || h[0].ToID == nil || *h[0].ToID != *c.OwnerID ||
			h[0].ActorID == nil || *h[0].ActorID != *c.OwnerID || h[0].FromID != nil || !h[0].At.Equal(*c.OwnedSince) ||
			h[0].ProjectID != c.ProjectID:
			t.Fatalf("customer %s (owner %s since %v): history %+v", c.ID, *c.OwnerID, c.OwnedSince, h)
		}
	}
	if n, m := client.AttributionEvent.Query().CountX(ctx), len(customers); n != m {
		t.Fatalf("%d history lines for %d owned customers", n, m)
	}
}
