package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
	"estatecrm/live"
)

const complaintSubscription = `subscription($c: ID) { complaintUpdated(complaintId: $c) { complaint { id status } event { kind internal note } } }`

// watchComplaint opens a socket to srv as the world's actor and subscribes
// to a complaint's updates, waiting until the hub holds the subscription.
func watchComplaint(t *testing.T, w *apitest.World, hub *live.Hub, url, actor, label string) *socket {
	t.Helper()
	s, err := dial(t, url, authzSocketPayload(t, w, actor))
	if err != nil {
		t.Fatal(err)
	}
	before := hub.ComplaintSubscribers()
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": complaintSubscription, "variables": map[string]any{"c": w.ID(label)}}})
	for deadline := time.Now().Add(2 * time.Second); hub.ComplaintSubscribers() == before && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return s
}

const acknowledge = `mutation($c: ID!) { acknowledgeComplaint(input: {complaintId: $c, note: "已联系业主"}) { complaint { status } } }`

// The homeowner follows their complaint live: they hear the manager's
// acknowledgement, not the staff-only note written before it; another
// homeowner may not subscribe to it at all.
func TestLiveComplaintUpdates(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	owner := watchComplaint(t, w, env.Hub, srv.URL, "H1", "cpH1")

	other, err := dial(t, srv.URL, authzSocketPayload(t, w, "H2"))
	if err != nil {
		t.Fatal(err)
	}
	other.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": complaintSubscription, "variables": map[string]any{"c": w.ID("cpH1")}}})
	if m := other.next(); strings.Contains(string(must(json.Marshal(m))), `"data":{`) || !strings.Contains(string(must(json.Marshal(m))), "NOT_FOUND") {
		t.Fatalf("H2 subscribing to H1's complaint got %v", m)
	}

	ma := w.Caller(t, "MA")
	ma.Query(t, `mutation($c: ID!) { addComplaintNote(input: {complaintId: $c, note: "业主自行改过水管"}) { event { internal } } }`,
		map[string]any{"c": w.ID("cpH1")}).Decode(t, &struct{}{})
	ma.Query(t, acknowledge, map[string]any{"c": w.ID("cpH1")}).Decode(t, &struct{}{})
	ev := string(must(json.Marshal(owner.next())))
	if !strings.Contains(ev, `"kind":"ACKNOWLEDGED"`) || !strings.Contains(ev, `"status":"ACKNOWLEDGED"`) || strings.Contains(ev, "水管") {
		t.Fatalf("H1's first event should be the acknowledgement, without the staff note: %s", ev)
	}
}

// An acknowledgement made through one server reaches the homeowner
// watching through another.
func TestLiveComplaintAcrossServers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share changes through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	b := a.Second(t)
	w := a.World(t)
	srvB := httptest.NewServer(b.Handler)
	t.Cleanup(srvB.Close)
	owner := watchComplaint(t, w, b.Hub, srvB.URL, "H1", "cpH1")
	w.Caller(t, "MA").Query(t, acknowledge, map[string]any{"c": w.ID("cpH1")}).Decode(t, &struct{}{})
	if ev := string(must(json.Marshal(owner.next()))); !strings.Contains(ev, `"kind":"ACKNOWLEDGED"`) {
		t.Fatalf("server B's subscriber got %s", ev)
	}
}
