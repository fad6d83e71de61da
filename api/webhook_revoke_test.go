package api_test

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/ent/schema/pulid"
)

// TestWebhookQueuedDeliveriesObeyTheKeyNow: deliveries queued while the
// receiver was down are sent under the key as it is when they go, not as
// it was when they were queued: none after the key is revoked, and only
// the projects it still covers after an admin narrows it (SPEC §3.4,
// revoking takes effect within seconds). Found in review: the key was
// checked only when deliveries were queued.
func TestWebhookQueuedDeliveriesObeyTheKeyNow(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 2)
	q := env.Project(t, "北岸·城", 1, 1, 2)
	narrowed, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "p and q, then q"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "revoked later"})
	if err != nil {
		t.Fatal(err)
	}
	down := 1000 // every attempt fails until the receiver is back
	rNarrow, rRevoked := newReceiver(t, down), newReceiver(t, down)
	newEndpoint(t, env, rNarrow.srv.URL, &narrowed.APIKey.ID)
	newEndpoint(t, env, rRevoked.srv.URL, &revoked.APIKey.ID)
	clk := &hookClock{now: time.Now().UTC()}
	w := hookWorker(env.Client, clk)
	reprice(t, env, append(unitsOf(env, p), unitsOf(env, q)...)...)
	round(t, w) // queued, first attempts fail

	if _, err := account.RevokeAPIKey(apitest.System(), env.Client, revoked.APIKey.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := account.SetAPIKeyProjects(apitest.System(), env.Client, narrowed.APIKey.ID, []pulid.ID{q.ID}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*receiver{rNarrow, rRevoked} {
		r.mu.Lock()
		r.fail = 0 // back up
		r.mu.Unlock()
	}
	for range 10 { // past every retry
		clk.Set(clk.Now().Add(2 * time.Hour))
		round(t, w)
	}
	ok := func(r *receiver) []string {
		var out []string
		for _, h := range r.requests() {
			if h.Status/100 == 2 {
				out = append(out, string(h.Payload.Data.ListingID))
			}
		}
		return out
	}
	if got := ok(rRevoked); len(got) != 0 {
		t.Fatalf("the endpoint of a key revoked while its deliveries waited got %v", got)
	}
	var want []string
	for _, u := range unitsOf(env, q) {
		want = append(want, string(u.ID))
	}
	if got := ok(rNarrow); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the endpoint of a key narrowed to q while its deliveries waited got %v, want q's %v", got, want)
	}
}
