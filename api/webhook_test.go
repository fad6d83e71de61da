package api_test

// Signed webhooks of the listing change log (issue 12, part 5): endpoints
// registered by an admin, deliveries signed as Standard Webhooks and
// verified here by a receiver of the test's own, retried with backoff on
// the worker's clock, in order per endpoint, limited to a portal key's
// projects, and sent once by several workers.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/database"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/ent/webhookdelivery"
	"estatecrm/ent/webhookendpoint"
	"estatecrm/money"
	"estatecrm/webhook"
)

// hookClock is the worker's clock, moved by the test.
type hookClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *hookClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *hookClock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// hookRequest is what a receiver got.
type hookRequest struct {
	ID, Timestamp, Signature string
	Body                     []byte
	Payload                  webhook.Payload
	Status                   int // what the receiver answered
}

// receiver is a portal's endpoint: it records every request and answers
// 500 to the first fail ones, then 204.
type receiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []hookRequest
	fail int
}

func newReceiver(t *testing.T, fail int) *receiver {
	r := &receiver{fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		h := hookRequest{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"),
			Signature: req.Header.Get("webhook-signature"), Body: body, Status: http.StatusNoContent}
		_ = json.Unmarshal(body, &h.Payload)
		r.mu.Lock()
		if r.fail > 0 {
			r.fail--
			h.Status = http.StatusInternalServerError
		}
		r.got = append(r.got, h)
		r.mu.Unlock()
		w.WriteHeader(h.Status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []hookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// accepted are the sequences of the requests answered 2xx, in arrival order.
func (r *receiver) accepted() []int64 {
	var out []int64
	for _, h := range r.requests() {
		if h.Status/100 == 2 {
			out = append(out, h.Payload.Data.Sequence)
		}
	}
	return out
}

// verify checks a request's signature as a receiver following Standard
// Webhooks does, without the server's code: some v1 signature must be the
// HMAC-SHA256 of "id.timestamp.body" under the secret's decoded bytes.
func verify(t *testing.T, secret string, h hookRequest) bool {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || !strings.HasPrefix(secret, "whsec_") || len(key) < 24 {
		t.Fatalf("the secret %q is not whsec_ and 24+ bytes of base64", secret)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.ID + "." + h.Timestamp + "." + string(h.Body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(h.Signature) {
		v, sig, ok := strings.Cut(s, ",")
		got, err := base64.StdEncoding.DecodeString(sig)
		if ok && v == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

const createEndpoint = `mutation($url: String!, $key: ID) {
  createWebhookEndpoint(input: {url: $url, apiKeyId: $key, description: "portal"}) { secret webhookEndpoint { id url enabled apiKeyId } }
}`

// newEndpoint registers url as the admin, tied to key if given, and
// returns the endpoint's id and secret.
func newEndpoint(t *testing.T, env *apitest.Env, url string, key *pulid.ID) (pulid.ID, string) {
	t.Helper()
	vars := map[string]any{"url": url}
	if key != nil {
		vars["key"] = *key
	}
	res := env.Query(t, createEndpoint, vars)
	var out struct {
		CreateWebhookEndpoint struct {
			Secret          string
			WebhookEndpoint struct{ ID pulid.ID }
		}
	}
	res.Decode(t, &out)
	return out.CreateWebhookEndpoint.WebhookEndpoint.ID, out.CreateWebhookEndpoint.Secret
}

// hookWorker is a worker on the test's clock, with a jitter of one half
// (a retry after three quarters of its backoff).
func hookWorker(client *ent.Client, clk *hookClock) *webhook.Worker {
	return &webhook.Worker{Client: client, Now: clk.Now, Jitter: func() float64 { return 0.5 }}
}

// reprice changes the units' prices: one UPSERT each.
func reprice(t *testing.T, env *apitest.Env, units ...*ent.Unit) {
	t.Helper()
	for _, u := range units {
		env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(1)).ExecX(apitest.System())
	}
}

func unitsOf(env *apitest.Env, p *ent.Project) []*ent.Unit {
	return env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(ent.Asc(unit.FieldNumber)).AllX(apitest.System())
}

func round(t *testing.T, w *webhook.Worker) int {
	t.Helper()
	n, err := w.Round(context.Background())
	if err != nil {
		t.Fatalf("worker round: %v", err)
	}
	return n
}

type deliveryRow struct {
	ID            pulid.ID
	Sequence      string
	ListingID     pulid.ID
	Kind          string
	Status        string
	Attempts      int
	LastError     *string
	NextAttemptAt *time.Time
	DeliveredAt   *time.Time
}

// deliveries reads an endpoint's log as the admin, oldest change first.
func deliveries(t *testing.T, env *apitest.Env, id pulid.ID) []deliveryRow {
	t.Helper()
	res := env.Query(t, `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 100) {
	  hasNextPage nodes { id sequence listingId kind status attempts lastError nextAttemptAt deliveredAt } } }`, map[string]any{"id": id})
	var out struct {
		WebhookDeliveries struct{ Nodes []deliveryRow }
	}
	res.Decode(t, &out)
	rows := out.WebhookDeliveries.Nodes
	slices.Reverse(rows)
	return rows
}

// TestWebhookSignedDelivery: the changes after an endpoint's creation reach
// it in order, as listing.changed events signed with the secret shown once
// (verified by the receiver); the secret is never shown again; a rotation
// signs with both secrets for a while.
func TestWebhookSignedDelivery(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 3)
	us := unitsOf(env, p)
	reprice(t, env, us[0]) // before the endpoint: not sent
	rcv := newReceiver(t, 0)
	id, secret := newEndpoint(t, env, rcv.srv.URL+"/hooks?token=t0k3n", nil)
	// The request's clock (rotation) is the real one: so is the worker's.
	clk := &hookClock{now: time.Now().UTC().Truncate(time.Second)}
	env.Now = clk.Now
	w := hookWorker(env.Client, clk)

	reprice(t, env, us[2], us[1], us[0])
	if n := round(t, w); n != 3 {
		t.Fatalf("the worker sent %d deliveries, want 3", n)
	}
	got := rcv.requests()
	if len(got) != 3 {
		t.Fatalf("the receiver got %d requests, want 3", len(got))
	}
	log := deliveries(t, env, id)
	for i, h := range got {
		if !verify(t, secret, h) {
			t.Errorf("request %d: the signature %q does not verify with the secret shown", i, h.Signature)
		}
		if h.Timestamp != strconv.FormatInt(clk.Now().Unix(), 10) || !h.Payload.Timestamp.Equal(clk.Now()) {
			t.Errorf("request %d: timestamp %s / %s, want the worker's clock %s", i, h.Timestamp, h.Payload.Timestamp, clk.Now())
		}
		want := []pulid.ID{us[2].ID, us[1].ID, us[0].ID}[i]
		if h.Payload.Type != "listing.changed" || h.Payload.Data.ListingID != want || h.Payload.Data.Kind != "UPSERT" {
			t.Errorf("request %d: %s, want listing.changed UPSERT of %s", i, h.Body, want)
		}
		if i > 0 && h.Payload.Data.Sequence <= got[i-1].Payload.Data.Sequence {
			t.Errorf("request %d: sequence %d after %d: out of order", i, h.Payload.Data.Sequence, got[i-1].Payload.Data.Sequence)
		}
		d := log[i]
		if string(d.ID) != h.ID || d.Sequence != strconv.FormatInt(h.Payload.Data.Sequence, 10) || d.Status != "SUCCEEDED" ||
			d.Attempts != 1 || d.LastError != nil || d.NextAttemptAt != nil || d.DeliveredAt == nil {
			t.Errorf("delivery %d in the log: %+v, want SUCCEEDED once as %s", i, d, h.ID)
		}
	}
	// The log pages newest first; a status filters it.
	page := func(vars map[string]any) (ids []pulid.ID, more bool) {
		res := env.Query(t, `query($id: ID!, $after: ID, $status: WebhookDeliveryStatus) {
		  webhookDeliveries(endpointId: $id, first: 2, after: $after, status: $status) { hasNextPage nodes { id } } }`, vars)
		var out struct {
			WebhookDeliveries struct {
				HasNextPage bool
				Nodes       []struct{ ID pulid.ID }
			}
		}
		res.Decode(t, &out)
		for _, n := range out.WebhookDeliveries.Nodes {
			ids = append(ids, n.ID)
		}
		return ids, out.WebhookDeliveries.HasNextPage
	}
	if ids, more := page(map[string]any{"id": id}); fmt.Sprint(ids) != fmt.Sprint([]pulid.ID{log[2].ID, log[1].ID}) || !more {
		t.Fatalf("first page %v %v", ids, more)
	}
	if ids, more := page(map[string]any{"id": id, "after": log[1].ID}); fmt.Sprint(ids) != fmt.Sprint([]pulid.ID{log[0].ID}) || more {
		t.Fatalf("second page %v %v", ids, more)
	}
	if ids, _ := page(map[string]any{"id": id, "status": "FAILED"}); len(ids) != 0 {
		t.Fatalf("FAILED deliveries %v", ids)
	}
	// Tampering is detected: a body changed in transit does not verify.
	bad := got[0]
	bad.Body = []byte(strings.Replace(string(bad.Body), "UPSERT", "REMOVE", 1))
	if verify(t, secret, bad) {
		t.Fatal("a tampered body verified")
	}
	// Nothing more to send; the secret is nowhere to be read again.
	if n := round(t, w); n != 0 {
		t.Fatalf("an idle round sent %d", n)
	}
	res := env.Query(t, `{ webhookEndpoints { id url description enabled apiKeyId createdAt } }`, nil)
	if strings.Contains(string(res.Body), "whsec_") || !strings.Contains(string(res.Body), string(id)) {
		t.Fatalf("webhookEndpoints: %s", res.Body)
	}

	// Rotation: a new secret, shown once; deliveries carry both signatures.
	res = env.Query(t, `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, rotateSecret: true}) { secret } }`, map[string]any{"id": id})
	var rot struct{ UpdateWebhookEndpoint struct{ Secret string } }
	res.Decode(t, &rot)
	fresh := rot.UpdateWebhookEndpoint.Secret
	if fresh == "" || fresh == secret {
		t.Fatalf("rotation answered %s", res.Body)
	}
	res = env.Query(t, `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, description: "x"}) { secret } }`, map[string]any{"id": id})
	if !strings.Contains(string(res.Body), `"secret":null`) {
		t.Fatalf("an update without rotation answered %s", res.Body)
	}
	reprice(t, env, us[1])
	round(t, w)
	last := rcv.requests()[3]
	if !verify(t, fresh, last) || !verify(t, secret, last) || len(strings.Fields(last.Signature)) != 2 {
		t.Fatalf("after a rotation: signature %q, want v1 under the new and the old secret", last.Signature)
	}
	clk.Set(clk.Now().Add(webhook.RotationOverlap + time.Second))
	reprice(t, env, us[2])
	round(t, w)
	last = rcv.requests()[4]
	if !verify(t, fresh, last) || verify(t, secret, last) {
		t.Fatalf("a day after a rotation: signature %q, want the new secret's only", last.Signature)
	}
}

// TestWebhookRetries: a receiver that fails 3 times then succeeds gets the
// change a fourth time (attempts = 4, not lost), each retry after its
// backoff on the worker's clock (5 s, 10 s, 20 s, three quarters of each
// with the test's jitter) and never before; the next change waits until
// it succeeded. A receiver that fails for 24 hours has the delivery
// FAILED, and the next change goes; a replay sends it again.
func TestWebhookRetries(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "北岸·城", 1, 1, 2)
	us := unitsOf(env, p)
	rcv := newReceiver(t, 3)
	id, _ := newEndpoint(t, env, rcv.srv.URL, nil)
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clk := &hookClock{now: t0}
	env.Now = clk.Now // the requests' clock (a replay's) is the worker's
	w := hookWorker(env.Client, clk)
	reprice(t, env, us[0], us[1])

	at := t0
	for attempt, backoff := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		clk.Set(at)
		if n := round(t, w); n != 1 {
			t.Fatalf("attempt %d: the worker sent %d, want the first change only", attempt+1, n)
		}
		d := deliveries(t, env, id)
		next := at.Add(backoff * 3 / 4)
		if d[0].Status != "PENDING" || d[0].Attempts != attempt+1 || d[0].LastError == nil || *d[0].LastError != "HTTP 500" ||
			d[0].NextAttemptAt == nil || !d[0].NextAttemptAt.Equal(next) {
			t.Fatalf("after attempt %d: %+v, want PENDING, HTTP 500, next at %s", attempt+1, d[0], next)
		}
		if d[1].Status != "PENDING" || d[1].Attempts != 0 {
			t.Fatalf("after attempt %d the second change was tried: %+v", attempt+1, d[1])
		}
		clk.Set(next.Add(-time.Millisecond))
		if n := round(t, w); n != 0 {
			t.Fatalf("attempt %d: retried %d before its backoff", attempt+1, n)
		}
		at = next
	}
	clk.Set(at)
	if n := round(t, w); n != 2 {
		t.Fatalf("the fourth attempt sent %d, want the first change and then the second", n)
	}
	got := rcv.requests()
	if len(got) != 5 || got[0].ID != got[3].ID || got[3].Status != http.StatusNoContent {
		t.Fatalf("the receiver got %d requests, want the first change 4 times (one accepted) then the second", len(got))
	}
	if a := rcv.accepted(); len(a) != 2 || a[0] >= a[1] {
		t.Fatalf("accepted sequences %v, want both changes once, in order", a)
	}
	d := deliveries(t, env, id)
	if d[0].Status != "SUCCEEDED" || d[0].Attempts != 4 || d[0].LastError != nil || d[1].Status != "SUCCEEDED" || d[1].Attempts != 1 {
		t.Fatalf("the log: %+v", d)
	}

	// A receiver down for a day: retried with growing backoff (at most an
	// hour), then FAILED; the next change goes.
	down := newReceiver(t, 1<<30)
	did, _ := newEndpoint(t, env, down.srv.URL, nil)
	reprice(t, env, us[0], us[1])
	for range 100 {
		round(t, w)
		dd := deliveries(t, env, did)
		if dd[0].Status != "PENDING" {
			break
		}
		clk.Set(*dd[0].NextAttemptAt)
	}
	dd := deliveries(t, env, did)
	if dd[0].Status != "FAILED" || dd[0].Attempts < 35 || dd[0].Attempts > 45 || dd[0].LastError == nil {
		t.Fatalf("a day of failures: %+v, want FAILED after some 40 attempts (up to 45 minutes apart)", dd[0])
	}
	if dd[1].Attempts == 0 {
		t.Fatalf("the change after a failed one was not tried: %+v", dd[1])
	}
	reqs := down.requests()
	if len(reqs) != dd[0].Attempts+dd[1].Attempts || reqs[dd[0].Attempts-1].ID != string(dd[0].ID) || reqs[dd[0].Attempts].ID != string(dd[1].ID) {
		t.Fatalf("the down receiver got %d requests, want the first change's %d attempts, then the second's", len(reqs), dd[0].Attempts)
	}
	// Replay: PENDING again, sent before the later change.
	down.mu.Lock()
	down.fail = 0
	down.mu.Unlock()
	res := env.Query(t, `mutation($id: ID!) { replayWebhookDelivery(id: $id) { webhookDelivery { status attempts lastError } } }`, map[string]any{"id": dd[0].ID})
	if !strings.Contains(string(res.Body), `{"status":"PENDING","attempts":0,"lastError":null}`) {
		t.Fatalf("replay answered %s", res.Body)
	}
	clk.Set(clk.Now().Add(time.Hour))
	round(t, w)
	if a := down.accepted(); len(a) != 2 || a[0] != dd[0].seq(t) || a[1] != dd[1].seq(t) {
		t.Fatalf("after the replay the receiver accepted %v, want %d then %d", a, dd[0].seq(t), dd[1].seq(t))
	}
}

func (d deliveryRow) seq(t *testing.T) int64 {
	n, err := strconv.ParseInt(d.Sequence, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWebhookPortalLimited: an endpoint tied to a key limited to project q
// receives q's changes only; one without a key all; one of a revoked key
// none.
func TestWebhookPortalLimited(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 2)
	q := env.Project(t, "北岸·城", 1, 1, 2)
	limited, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "q only"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := account.SetAPIKeyProjects(apitest.System(), env.Client, limited.APIKey.ID, []pulid.ID{q.ID}); err != nil {
		t.Fatal(err)
	}
	revoked, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "revoked"})
	if err != nil {
		t.Fatal(err)
	}
	rq, rall, rrev := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	newEndpoint(t, env, rq.srv.URL, &limited.APIKey.ID)
	newEndpoint(t, env, rall.srv.URL, nil)
	newEndpoint(t, env, rrev.srv.URL, &revoked.APIKey.ID)
	if _, err := account.RevokeAPIKey(apitest.System(), env.Client, revoked.APIKey.ID); err != nil {
		t.Fatal(err)
	}
	clk := &hookClock{now: time.Now().UTC()}
	w := hookWorker(env.Client, clk)
	reprice(t, env, append(unitsOf(env, p), unitsOf(env, q)...)...)
	round(t, w)
	listings := func(r *receiver) []string {
		var out []string
		for _, h := range r.requests() {
			out = append(out, string(h.Payload.Data.ListingID))
		}
		return out
	}
	ids := func(us []*ent.Unit) []string {
		var out []string
		for _, u := range us {
			out = append(out, string(u.ID))
		}
		return out
	}
	if got, want := listings(rq), ids(unitsOf(env, q)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the endpoint of a key limited to q got %v, want q's %v", got, want)
	}
	if got, want := listings(rall), ids(append(unitsOf(env, p), unitsOf(env, q)...)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("the endpoint without a key got %v, want %v", got, want)
	}
	if got := listings(rrev); len(got) != 0 {
		t.Fatalf("the endpoint of a revoked key got %v", got)
	}
}

// TestWebhookAllowlist: a URL whose host is not on the allowlist (or with
// credentials, or not http) is refused on input.url and nothing is
// created or changed; an API key that is not one is refused too.
func TestWebhookAllowlist(t *testing.T) {
	env := apitest.New(t)
	rcv := newReceiver(t, 0)
	for _, url := range []string{"https://evil.example.com/hook", "http://localhost:1/hook", "http://user:pw@127.0.0.1:1/",
		"ftp://127.0.0.1/x", "http://127.0.0.1.evil.example/", "127.0.0.1:80"} {
		res := env.Query(t, createEndpoint, map[string]any{"url": url})
		if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.url" {
			t.Errorf("%s: %s, want BAD_USER_INPUT on input.url", url, res.Body)
		}
	}
	res := env.Query(t, createEndpoint, map[string]any{"url": rcv.srv.URL, "key": "PR01ARZ3NDEKTSV4RRFFQ69G5FAV"})
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.apiKeyId" {
		t.Errorf("a project's id as the key: %s", res.Body)
	}
	if n := env.Client.WebhookEndpoint.Query().CountX(apitest.System()); n != 0 {
		t.Fatalf("%d endpoints created by refused requests", n)
	}
	id, _ := newEndpoint(t, env, rcv.srv.URL, nil)
	res = env.Query(t, `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, url: "https://evil.example.com/", enabled: false}) { secret } }`, map[string]any{"id": id})
	if e := res.OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.url" {
		t.Errorf("update to a host off the list: %s", res.Body)
	}
	if e := env.Client.WebhookEndpoint.GetX(apitest.System(), id); e.URL != rcv.srv.URL || !e.Enabled {
		t.Fatalf("a refused update changed the endpoint: %s %v", e.URL, e.Enabled)
	}
	// The list's own rules: exact hosts, and *. for subdomains only.
	list := webhook.ParseAllowlist(" Hooks.Example.com, *.portal.cn ,")
	for url, ok := range map[string]bool{
		"https://hooks.example.com/x": true, "https://HOOKS.example.com:8443/x": true, "https://a.portal.cn/": true,
		"https://a.b.portal.cn/": true, "https://portal.cn/": false, "https://example.com/": false, "https://xportal.cn/": false,
	} {
		if err := list.Check("url", url); (err == nil) != ok {
			t.Errorf("%s: allowed %v, want %v", url, err == nil, ok)
		}
	}
}

// TestWebhookSeveralWorkers: two workers, each with its own client (on
// PostgreSQL its own connection pool, as two processes have), send every
// change to a receiver that counts, while writers make changes: each
// change arrives once, in order.
func TestWebhookSeveralWorkers(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 2, 5, 4) // 40 units
	us := unitsOf(env, p)
	rcv := newReceiver(t, 0)
	id, _ := newEndpoint(t, env, rcv.srv.URL, nil)
	second := env.Client
	if env.DB.Dialect == "postgres" {
		db, err := database.Open(context.Background(), env.DB.URL, database.Pool{MaxOpen: 5, MaxIdle: 5})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		second = db.Client()
	}
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for _, c := range []*ent.Client{env.Client, second} {
		w := &webhook.Worker{Client: c, Poll: 5 * time.Millisecond}
		running.Add(1)
		go func() { defer running.Done(); w.Run(ctx) }()
	}
	const writers, each = 4, 25
	var writing sync.WaitGroup
	for i := range writers {
		writing.Add(1)
		go func() {
			defer writing.Done()
			for j := range each {
				u := us[(i*each+j)%len(us)]
				if err := env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(1)).Exec(apitest.System()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	writing.Wait()
	want := writers * each
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		n := env.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(id), webhookdelivery.StatusEQ(webhookdelivery.StatusSUCCEEDED)).CountX(apitest.System())
		if n >= want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more rounds: nothing is sent twice
	cancel()
	running.Wait()
	got := rcv.requests()
	seen := map[string]int{}
	for i, h := range got {
		seen[h.ID]++
		if i > 0 && h.Payload.Data.Sequence <= got[i-1].Payload.Data.Sequence {
			t.Errorf("request %d: sequence %d after %d", i, h.Payload.Data.Sequence, got[i-1].Payload.Data.Sequence)
		}
	}
	if len(got) != want || len(seen) != want {
		t.Fatalf("the receiver got %d requests of %d deliveries, want %d once each", len(got), len(seen), want)
	}
	rows := env.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(id)).AllX(apitest.System())
	for _, d := range rows {
		if d.Status != webhookdelivery.StatusSUCCEEDED || d.Attempts != 1 {
			t.Fatalf("delivery %d: %s after %d attempts", d.Seq, d.Status, d.Attempts)
		}
	}
	if e := env.Client.WebhookEndpoint.Query().Where(webhookendpoint.ID(id)).OnlyX(apitest.System()); e.LeaseOwner != nil {
		t.Fatalf("a stopped worker left its lease: %v", *e.LeaseOwner)
	}
}

// TestWebhookLeaseAndPause: an endpoint whose lease a worker that died still
// holds is sent to by another once the lease expires, not before; a
// disabled endpoint receives nothing until enabled again, then every change
// it missed; a failed attempt's error says what went wrong without the URL
// (which may carry a token); deleting an endpoint removes its log.
func TestWebhookLeaseAndPause(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 2)
	us := unitsOf(env, p)
	rcv := newReceiver(t, 0)
	id, _ := newEndpoint(t, env, rcv.srv.URL, nil)
	t0 := time.Now().UTC().Truncate(time.Second)
	clk := &hookClock{now: t0}
	env.Now = clk.Now
	w := hookWorker(env.Client, clk)
	ctx := apitest.System()

	env.Client.WebhookEndpoint.UpdateOneID(id).SetLeaseOwner("dead").SetLeaseUntil(t0.Add(time.Minute)).ExecX(ctx)
	reprice(t, env, us[0])
	if n := round(t, w); n != 0 || len(rcv.requests()) != 0 {
		t.Fatalf("sent %d while another worker's lease runs", n)
	}
	clk.Set(t0.Add(time.Minute))
	if n := round(t, w); n != 1 || len(rcv.requests()) != 1 {
		t.Fatalf("sent %d once the lease expired, want 1", n)
	}

	res := env.Query(t, `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: false}) { webhookEndpoint { enabled } } }`, map[string]any{"id": id})
	if !strings.Contains(string(res.Body), `"enabled":false`) {
		t.Fatalf("disable: %s", res.Body)
	}
	reprice(t, env, us[1], us[0])
	if n := round(t, w); n != 0 || len(rcv.requests()) != 1 {
		t.Fatalf("a disabled endpoint was sent %d", n)
	}
	env.Query(t, `mutation($id: ID!) { updateWebhookEndpoint(input: {id: $id, enabled: true}) { webhookEndpoint { enabled } } }`, map[string]any{"id": id})
	if n := round(t, w); n != 2 {
		t.Fatalf("enabled again: sent %d, want the 2 changes it missed", n)
	}

	// A receiver that is gone: the error is the network's, without the URL.
	gone := httptest.NewServer(http.NotFoundHandler())
	url := gone.URL + "/hook?token=s3cr3t-t0k3n"
	gone.Close()
	gid, _ := newEndpoint(t, env, url, nil)
	reprice(t, env, us[1])
	round(t, w)
	d := deliveries(t, env, gid)
	if len(d) != 1 || d[0].Status != "PENDING" || d[0].LastError == nil || *d[0].LastError == "" ||
		strings.Contains(*d[0].LastError, "t0k3n") || strings.Contains(*d[0].LastError, "/hook") {
		t.Fatalf("a failed attempt's log: %+v", d)
	}
	t.Logf("lastError: %s", *d[0].LastError)

	// Pruning keeps pending deliveries and those done within Retention.
	if n, err := webhook.Prune(ctx, env.Client, clk.Now().Add(webhook.Retention-time.Hour)); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) within retention", n, err)
	}
	if n, err := webhook.Prune(ctx, env.Client, time.Now().Add(webhook.Retention+time.Hour)); err != nil || n != 4 {
		t.Fatalf("pruned %d (%v) after retention, want the 4 succeeded", n, err)
	}
	if n := env.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(gid)).CountX(ctx); n != 1 {
		t.Fatalf("pruning took a pending delivery")
	}
	res = env.Query(t, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { deletedId } }`, map[string]any{"id": gid})
	if !strings.Contains(string(res.Body), string(gid)) {
		t.Fatalf("delete: %s", res.Body)
	}
	if n := env.Client.WebhookDelivery.Query().Where(webhookdelivery.EndpointID(gid)).CountX(ctx); n != 0 {
		t.Fatalf("%d deliveries of a deleted endpoint left", n)
	}
	res = env.Query(t, `query($id: ID!) { webhookDeliveries(endpointId: $id) { hasNextPage } }`, map[string]any{"id": gid})
	if e := res.OnlyError(t); e.Code() != "NOT_FOUND" {
		t.Fatalf("the log of a deleted endpoint: %s", res.Body)
	}
}
