package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/api/apitest"
	"estatecrm/ent/unit"
	"estatecrm/ent/user"
	"estatecrm/money"
	"estatecrm/sales"
	"estatecrm/tracing"
	"estatecrm/webhook"
)

// Background work is traced apart from requests: each endpoint's turn of
// webhook deliveries is a trace of its own, with its statements and its
// POST under it (failed by the status the portal answered, and without
// the URL, whose query may hold a token); a sweep run under tracing.Root
// (as the server runs each) has its statements under that root. A worker
// round with nothing to send makes no span at all.
func TestTracingBackgroundJobs(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "江南·里", 1, 1, 2)
	portal := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer portal.Close()
	res := env.Query(t, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url, description: "portal"}) { secret } }`,
		map[string]any{"url": portal.URL + "/hooks?token=t0k3n-s3cret"})
	if len(res.Errors) > 0 {
		t.Fatalf("create endpoint: %s", res.Body)
	}
	tp, rec := recordSpans()
	w := &webhook.Worker{Client: env.Client, Tracer: tp}
	if _, err := w.Round(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("a round with nothing to deliver made %d spans: %s", n, indexSpans(rec.Ended()))
	}

	u := env.Client.Unit.Query().Where(unit.ProjectID(p.ID)).FirstX(apitest.System())
	env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(1)).ExecX(apitest.System()) // a listing change
	if n, err := w.Round(context.Background()); err != nil || n != 1 {
		t.Fatalf("round: %d deliveries, %v", n, err)
	}
	tr := indexSpans(rec.Ended())
	roots := tr.named("webhook delivery")
	if len(roots) != 1 || roots[0].Parent().IsValid() {
		t.Fatalf("want one root span per endpoint's turn: %s", tr)
	}
	root := roots[0]
	var post, statements int
	for _, s := range tr.spans {
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q outside the delivery's trace", s.Name())
		}
		for _, kv := range s.Attributes() {
			if strings.Contains(kv.Value.Emit(), "t0k3n") || strings.Contains(kv.Value.Emit(), portal.URL) {
				t.Errorf("span %q says the endpoint's URL: %s=%s", s.Name(), kv.Key, kv.Value.Emit())
			}
		}
		if s.Parent().SpanID() != root.SpanContext().SpanID() {
			continue
		}
		switch s.SpanKind() {
		case trace.SpanKindClient:
			if s.Name() == "POST webhook" {
				post++
				if et, _ := spanAttr(s, "error.type"); et.AsString() != "503" || s.Status().Code != codes.Error {
					t.Errorf("POST webhook answered 503: error.type %q, status %v", et.AsString(), s.Status())
				}
			} else {
				statements++
			}
		}
	}
	if post != 1 || statements == 0 {
		t.Errorf("under the delivery: %d POST, %d statements: %s", post, statements, tr)
	}
	if n, _ := spanAttr(root, "webhook.attempts"); n.AsInt64() != 1 {
		t.Errorf("webhook.attempts %v", n)
	}

	// A sweep's statements hang from its root.
	rec.Reset()
	agent, _ := env.User(t, user.RoleAGENT, "agent.hz1", p)
	env.Client.Unit.UpdateOneID(u.ID).SetStatus(unit.StatusHELD).SetHeldByID(agent.ID).
		SetHoldExpiresAt(time.Now().Add(-time.Minute)).ExecX(apitest.System()) // a hold that has lapsed
	jctx, span := tracing.Root(context.Background(), tp, "sweep holds")
	n, err := sales.SweepHolds(jctx, env.Client, time.Now())
	tracing.End(span, err)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	tr = indexSpans(rec.Ended())
	sweeps := tr.named("sweep holds")
	if len(sweeps) != 1 || !tr.has("UPDATE units") {
		t.Fatalf("want the sweep's root and its UPDATE: %s", tr)
	}
	for _, s := range tr.named("UPDATE units") {
		if s.Parent().SpanID() != sweeps[0].SpanContext().SpanID() {
			t.Errorf("the sweep's UPDATE hangs from %s, not the sweep", s.Parent().SpanID())
		}
	}
}
