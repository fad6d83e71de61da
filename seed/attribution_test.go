package seed_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/attributionevent"
	"estatecrm/ent/customer"
	"estatecrm/ent/user"
	"estatecrm/seed"
)

// TestSeededAttributionHistory: every seeded customer with an owner was
// registered by an agent when they were created, and says so consistently:
// the first line of their history is REGISTERED to that agent by them at
// the customer's creation; most were registered by their owner (rule
// REGISTERED since their creation, one line); a few leads were registered
// by another agent and reassigned by the manager before their first
// contact (rule REASSIGNED since then, a second line from the registrar to
// the owner by the manager at owned_since). Every line is in the
// customer's project.
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
	lines, reassigned := 0, 0
	for _, c := range customers {
		h := c.Edges.AttributionHistory
		slices.SortStableFunc(h, func(a, b *ent.AttributionEvent) int { return a.At.Compare(b.At) })
		lines += len(h)
		if len(h) == 0 || h[0].Kind != attributionevent.KindREGISTERED || h[0].ToID == nil || h[0].ActorID == nil ||
			*h[0].ActorID != *h[0].ToID || h[0].FromID != nil || !h[0].At.Equal(c.CreatedAt) || h[0].ProjectID != c.ProjectID {
			t.Fatalf("customer %s created %v: history %+v", c.ID, c.CreatedAt, h)
		}
		switch {
		case c.AttributionRule == nil || c.OwnedSince == nil:
			t.Fatalf("customer %s: rule %v since %v", c.ID, c.AttributionRule, c.OwnedSince)
		case *c.AttributionRule == customer.AttributionRuleREGISTERED:
			if len(h) != 1 || *h[0].ToID != *c.OwnerID || !c.OwnedSince.Equal(c.CreatedAt) {
				t.Fatalf("customer %s (owner %s since %v, created %v): history %+v", c.ID, *c.OwnerID, c.OwnedSince, c.CreatedAt, h)
			}
		case *c.AttributionRule == customer.AttributionRuleREASSIGNED:
			reassigned++
			r := h[len(h)-1]
			if len(h) != 2 || r.Kind != attributionevent.KindREASSIGNED || r.FromID == nil || *r.FromID != *h[0].ToID ||
				r.ToID == nil || *r.ToID != *c.OwnerID || *r.ToID == *r.FromID || r.ActorID == nil ||
				!r.At.Equal(*c.OwnedSince) || !r.At.After(c.CreatedAt) || r.ProjectID != c.ProjectID {
				t.Fatalf("customer %s (owner %s since %v): history %+v", c.ID, *c.OwnerID, c.OwnedSince, h)
			}
			manager := client.User.GetX(ctx, *r.ActorID)
			if manager.Role != user.RoleMANAGER {
				t.Fatalf("customer %s reassigned by %s (%s)", c.ID, manager.Login, manager.Role)
			}
		default:
			t.Fatalf("customer %s: rule %s", c.ID, *c.AttributionRule)
		}
	}
	if reassigned == 0 {
		t.Error("no seeded customer was reassigned")
	}
	if n := client.AttributionEvent.Query().CountX(ctx); n != lines {
		t.Fatalf("%d history lines, %d of owned customers", n, lines)
	}
}
