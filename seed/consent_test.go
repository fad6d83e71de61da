package seed_test

import (
	"context"
	"slices"
	"testing"

	"estatecrm/ent"
	"estatecrm/ent/consentevent"
	"estatecrm/ent/customer"
)

// checkConsentHistories: every seeded customer who ever consented to be
// contacted has a consent history that starts GIVEN and ends with their
// consent now (consent, consent_at, channels); a customer who never did has
// none. Some changed their channels, some withdrew.
func checkConsentHistories(t *testing.T, ctx context.Context, c *ent.Client) {
	t.Helper()
	events := map[string][]*ent.ConsentEvent{}
	for _, e := range c.ConsentEvent.Query().Order(ent.Asc(consentevent.FieldCreatedAt)).AllX(ctx) {
		events[string(e.CustomerID)] = append(events[string(e.CustomerID)], e)
	}
	customers := c.Customer.Query().
		Select(customer.FieldID, customer.FieldContactConsent, customer.FieldConsentAt, customer.FieldConsentChannels).
		AllX(ctx)
	consenting, kinds := 0, map[consentevent.Kind]int{}
	for _, cu := range customers {
		evs := events[string(cu.ID)]
		if cu.ContactConsent {
			consenting++
		}
		if len(evs) == 0 {
			if cu.ContactConsent {
				t.Fatalf("customer %s consents with no consent history", cu.ID)
			}
			continue
		}
		for _, e := range evs {
			kinds[e.Kind]++
		}
		first, e := evs[0], evs[len(evs)-1]
		if first.Kind != consentevent.KindGIVEN || !first.Consent || len(first.Channels) == 0 {
			t.Fatalf("customer %s: the consent history starts %s %v by %v", cu.ID, first.Kind, first.Consent, first.Channels)
		}
		if e.Consent != cu.ContactConsent || cu.ConsentAt == nil || !e.CreatedAt.Equal(*cu.ConsentAt) ||
			(e.Consent && (len(e.Channels) == 0 || !slices.Equal(e.Channels, cu.ConsentChannels))) {
			t.Fatalf("customer %s: consent %v at %v by %v, but its latest event is %s %v at %v by %v",
				cu.ID, cu.ContactConsent, cu.ConsentAt, cu.ConsentChannels, e.Kind, e.Consent, e.CreatedAt, e.Channels)
		}
	}
	if consenting == 0 || consenting == len(customers) {
		t.Errorf("%d of %d customers consent: want some and not all", consenting, len(customers))
	}
	if kinds[consentevent.KindCHANGED] == 0 || kinds[consentevent.KindWITHDRAWN] == 0 {
		t.Errorf("consent events by kind %v: want some changed and some withdrawn", kinds)
	}
}
