package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/api/apitest"
	"estatecrm/outbox"
	"estatecrm/tracing"
)

// A subscription on a WebSocket has a span of its own (the connection's
// request has none): named after the operation, with the connection's
// request id and the project's id, and a span per read of the outbox it
// does to catch up (here: resuming after an event), parent of that read's
// statement. Nothing personal goes on any of them. Before, a subscription
// left no span at all.
func TestTraceOfASubscription(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	tp, rec := recordSpans()
	srv := httptest.NewServer(tracedHandler(env, tp))
	t.Cleanup(srv.Close)

	u := env.Client.Unit.Query().FirstX(apitest.System())
	env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	// Events are numbered after their commit (PostgreSQL): number them,
	// so that the hold is before the position resumed after and the
	// release after it, and the hub has read the release before the
	// subscription starts, which then reads it from the outbox.
	numbered := func() int64 {
		if _, err := outbox.Sequence(apitest.System(), env.Client); err != nil {
			t.Fatal(err)
		}
		_, hi, err := outbox.Bounds(apitest.System(), env.Client)
		if err != nil {
			t.Fatal(err)
		}
		return hi
	}
	seen := numbered()
	env.As(t, viewers[0]).Query(t, releaseMutation, map[string]any{"u": u.ID}).Decode(t, &struct{}{}) // missed, then caught up
	for hi, deadline := numbered(), time.Now().Add(5*time.Second); env.Hub.Position() < hi && time.Now().Before(deadline); {
		env.Hub.Kick()
		time.Sleep(10 * time.Millisecond)
	}

	tok, _, _ := env.Signer.Issue(viewers[1])
	s, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query":     `subscription Grid($p: ID!, $after: String) { unitStatusChanged(projectId: $p, after: $after) { eventId status unit { id } } }`,
		"variables": map[string]any{"p": p.ID, "after": outbox.EncodeID(seen)}}})
	if e := nextGrid(t, s); e.Status != "AVAILABLE" || e.Unit != string(u.ID) {
		t.Fatalf("caught up with %v, want the release", e)
	}

	tr := indexSpans(rec.Ended())
	subs := tr.named("subscription Grid")
	if len(subs) != 1 {
		t.Fatalf("%d spans of the subscription, want 1:%s", len(subs), tr)
	}
	sub := subs[0]
	if sub.SpanKind() != trace.SpanKindServer {
		t.Errorf("the subscription's span is %v, want a server span", sub.SpanKind())
	}
	if v, _ := spanAttr(sub, tracing.RequestIDKey); v.AsString() == "" {
		t.Error("the subscription's span has no request id")
	}
	if v, _ := spanAttr(sub, tracing.ProjectIDKey); v.AsString() != string(p.ID) {
		t.Errorf("the subscription's span names project %q, want %s", v.AsString(), p.ID)
	}
	reads := tr.named("live.catch_up")
	if len(reads) != 1 {
		t.Fatalf("%d catch-up reads, want 1:%s", len(reads), tr)
	}
	read := reads[0]
	if read.Parent().SpanID() != sub.SpanContext().SpanID() || read.SpanContext().TraceID() != sub.SpanContext().TraceID() {
		t.Errorf("the catch-up read hangs from %s, want the subscription's span %s", read.Parent().SpanID(), sub.SpanContext().SpanID())
	}
	if v, _ := spanAttr(read, attribute.Key("estatecrm.live.events")); v.AsInt64() != 1 {
		t.Errorf("the catch-up read got %d events, want 1", v.AsInt64())
	}
	if v, _ := spanAttr(read, attribute.Key("estatecrm.live.reason")); v.AsString() != "resume" {
		t.Errorf("the catch-up read's reason is %q, want resume", v.AsString())
	}
	if stmts := tr.children[read.SpanContext().SpanID()]; len(stmts) != 1 || stmts[0].SpanKind() != trace.SpanKindClient {
		t.Errorf("the catch-up read has %d children, want its statement", len(stmts))
	}
	for _, sp := range tr.spans {
		for _, kv := range sp.Attributes() {
			for _, c := range customers {
				if v := kv.Value.Emit(); strings.Contains(v, c.Phone) || strings.Contains(v, c.Name) {
					t.Errorf("span %q carries %s=%q: personal data", sp.Name(), kv.Key, v)
				}
			}
		}
	}
}
