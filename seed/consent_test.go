package seed_test

import (
	"context"
	"slices"
	"testing"

	"estatecrm/ent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
)

// checkConsentHistories: every seeded customer who consents to be
// contacted has exactly one consent event, GIVEN at their consent_at with
// their channels; a customer who does not consent has none.
func checkConsentHistories(t *testing.T, ctx context.Context, c *ent.Client) {
	t.Helper()
	events := map[string][]*ent.ConsentEvent{}
	for _, e := range c.ConsentEvent.Query().AllX(ctx) {
		events[string(e.CustomerID)] = append(events[string(e.CustomerID)], e)
	}
	customers := c.Customer.Query().
		Select(customer.FieldID, customer.FieldContactConsent, customer.FieldConsentAt, customer.FieldConsentChannels).
		AllX(ctx)
	consenting := 0
	for _, cu := range customers {
		evs := events[string(cu.ID)]
		if !cu.ContactConsent {
			if len(evs) != 0 {
				t.Fatalf("customer %s does not consent but has %d consent events", cu.ID, len(evs))
			}
			continue
		}
		consenting++
		if len(evs) != 1 {
			t.Fatalf("customer %s consents and has %d consent events, want 1", cu.ID, len(evs))
		}
		e := evs[0]
		if e.Kind != consentevent.KindGIVEN || !e.Consent || cu.ConsentAt == nil || !e.CreatedAt.Equal(*cu.ConsentAt) ||
			len(e.Channels) == 0 || !slices.Equal(e.Channels, cu.ConsentChannels) {
			t.Fatalf("customer %s: consent at %v by %v, but its event is %s %v at %v by %v",
				cu.ID, cu.ConsentAt, cu.ConsentChannels, e.Kind, e.Consent, e.CreatedAt, e.Channels)
		}
	}
	if consenting == 0 || consenting == len(customers) {
		t.Errorf("%d of %d customers consent: want some and not all", consenting, len(customers))
	}
}
