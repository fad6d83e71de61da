package rule

import (
	"context"

	"estatecrm/ent"
	"estatecrm/ent/privacy"
)

// FilterWebhookEndpoints: only admins (and the system's delivery worker)
// see webhook endpoints; their secrets never leave the server after creation.
func FilterWebhookEndpoints() privacy.QueryRule {
	return privacy.WebhookEndpointQueryRuleFunc(func(_ context.Context, q *ent.WebhookEndpointQuery) error {
		q.Where(none)
		return privacy.Allow
	})
}

// FilterWebhookDeliveries: only admins (and the system) see the delivery log.
func FilterWebhookDeliveries() privacy.QueryRule {
	return privacy.WebhookDeliveryQueryRuleFunc(func(_ context.Context, q *ent.WebhookDeliveryQuery) error {
		q.Where(none)
		return privacy.Allow
	})
}
