package api_test

// The webhooks' cells of the authorization matrix (issue 12, part 5): only
// admins manage endpoints and read or replay their deliveries; everyone else
// is refused before anything is read or changed.

import (
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/webhookdelivery"
	"estatecrm/ent/webhookendpoint"
	"estatecrm/webhook"
)

func authzWebhookRows() []authzRow {
	refused := func(admin string) map[string]string {
		return authzEvery("!FORBIDDEN db=unchanged", map[string]string{
			"admin":     admin,
			"anonymous": "!UNAUTHENTICATED db=unchanged",
		})
	}
	refusedRead := func(admin string) map[string]string {
		return authzEvery("!FORBIDDEN", map[string]string{"admin": admin, "anonymous": "!UNAUTHENTICATED"})
	}
	endpointCount := func(t *testing.T, w *apitest.World, _ string) string {
		return string(rune('0' + w.Env.Client.WebhookEndpoint.Query().CountX(apitest.System())))
	}
	return []authzRow{
		authzQuery("Query.webhookEndpoints", "webhookEndpoints", `{ webhookEndpoints { id description enabled } }`, nil,
			refusedRead("[wE{description=world,enabled=true} wX{description=doomed,enabled=true}]")),
		authzQuery("Query.webhookDeliveries", "webhookDeliveries",
			`query($id: ID!) { webhookDeliveries(endpointId: $id) { nodes { id status attempts } } }`, authzIDVar("wE"),
			refusedRead("{nodes=[wD{attempts=3,status=FAILED}]}")),
		authzMutation("Mutation.createWebhookEndpoint", "createWebhookEndpoint",
			`mutation { createWebhookEndpoint(input: {url: "http://127.0.0.1:9/new", description: "new"}) { webhookEndpoint { description } } }`,
			func(*apitest.World, string) map[string]any { return nil },
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.WebhookEndpoint.Delete().Where(webhookendpoint.Description("new")).ExecX(apitest.System())
			},
			endpointCount,
			refused("{webhookEndpoint={description=new}} db=changed")),
		authzMutation("Mutation.updateWebhookEndpoint", "updateWebhookEndpoint",
			`mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: false}) { webhookEndpoint { enabled } } }`,
			authzIDVar("wE"),
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.WebhookEndpoint.UpdateOneID(w.ID("wE")).SetEnabled(true).ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return w.Env.Client.WebhookEndpoint.GetX(apitest.System(), w.ID("wE")).URL +
					map[bool]string{true: " on", false: " off"}[w.Env.Client.WebhookEndpoint.GetX(apitest.System(), w.ID("wE")).Enabled]
			},
			refused("{webhookEndpoint={enabled=false}} db=changed")),
		authzMutation("Mutation.deleteWebhookEndpoint", "deleteWebhookEndpoint",
			`mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id: deletedId } }`,
			authzIDVar("wX"),
			func(t *testing.T, w *apitest.World, _ string) {
				c := w.Env.Client.WebhookEndpoint
				if !c.Query().Where(webhookendpoint.ID(w.ID("wX"))).ExistX(apitest.System()) {
					c.Create().SetID(w.ID("wX")).SetURL("http://127.0.0.1:9/x").SetDescription("doomed").
						SetSecret(webhook.NewSecret()).ExecX(apitest.System())
				}
			},
			endpointCount,
			refused("wX db=changed")),
		authzMutation("Mutation.replayWebhookDelivery", "replayWebhookDelivery",
			`mutation($id: ID!) { replayWebhookDelivery(id: $id) { webhookDelivery { id status attempts } } }`,
			authzIDVar("wD"),
			func(t *testing.T, w *apitest.World, _ string) {
				w.Env.Client.WebhookDelivery.UpdateOneID(w.ID("wD")).SetStatus(webhookdelivery.StatusFAILED).SetAttempts(3).
					ExecX(apitest.System())
			},
			func(t *testing.T, w *apitest.World, _ string) string {
				return w.Env.Client.WebhookDelivery.GetX(apitest.System(), w.ID("wD")).Status.String()
			},
			refused("{webhookDelivery=wD{attempts=0,status=PENDING}} db=changed")),
	}
}

func TestAuthzWebhooks(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	ctx := apitest.System()
	for label, desc := range map[string]string{"wE": "world", "wX": "doomed"} {
		e, err := webhook.Create(ctx, env.Client, webhook.Allowlist{"127.0.0.1"}, webhook.NewEndpoint{URL: "http://127.0.0.1:9/" + label, Description: &desc})
		if err != nil {
			t.Fatal(err)
		}
		w.Add(label, e.WebhookEndpoint.ID)
	}
	now := time.Now().UTC()
	d := env.Client.WebhookDelivery.Create().SetEndpointID(w.ID("wE")).SetSeq(1).SetListingID(w.ID("uFree")).
		SetKind(webhookdelivery.KindUPSERT).SetAt(now).SetStatus(webhookdelivery.StatusFAILED).SetAttempts(3).
		SetNextAttemptAt(now).SetGiveUpAt(now).SaveX(ctx)
	w.Add("wD", d.ID)
	authzRun(t, w, authzWebhookRows())
}
