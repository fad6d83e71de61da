package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/unit"
	"estatecrm/live"
)

// natsURL is the NATS server (with JetStream) the NATS tests use:
// TEST_NATS_URL, like nats://127.0.0.1:4222. Without it they are skipped, as
// a fresh clone has no NATS; CI sets it, and then a NATS that cannot be
// reached fails them.
var natsURL = os.Getenv("TEST_NATS_URL")

func natsOrSkip(t testing.TB) {
	t.Helper()
	if natsURL == "" {
		t.Skip("TEST_NATS_URL is not set (e.g. nats://127.0.0.1:4222, a nats-server -js)")
	}
	u, err := url.Parse(natsURL)
	if err != nil {
		t.Fatalf("TEST_NATS_URL: %v", err)
	}
	c, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Fatalf("TEST_NATS_URL is set but NATS cannot be reached: %v", err)
	}
	c.Close()
}

// natsPair gives a's hub NATS and returns a second server over a's database
// whose hub hears of events only through NATS: it does not listen on
// PostgreSQL and polls the outbox once an hour.
func natsPair(t testing.TB, a *apitest.Env) (http.Handler, *live.Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	n := live.NATS{URL: natsURL, Stream: fmt.Sprintf("ESTATECRM_TEST_%d", time.Now().UnixNano()), MaxAge: time.Hour}
	if a.DB.Dialect == "postgres" {
		n.Lock = a.DB.SQL
	}
	t.Cleanup(func() { deleteStream(n.Stream) })
	if err := a.Hub.UseNATS(ctx, n); err != nil {
		t.Fatal(err)
	}
	client := database.NewClient(a.DB.Driver)
	hub := live.NewHub()
	hub.Poll = time.Hour
	hub.Install(client)
	if err := hub.Start(ctx, database.NewClient(a.DB.Driver)); err != nil {
		t.Fatal(err)
	}
	if err := hub.UseNATS(ctx, n); err != nil {
		t.Fatal(err)
	}
	return api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: client, DB: a.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: a.Signer, APIKeys: auth.NewAPIKeys(client, time.Now), Hub: hub,
	}), hub
}

// A hold made through one server reaches a subscriber of another whose
// only news of other servers' events is NATS JetStream (relayed from the
// outbox by the one server holding the relay lock), in order.
func TestLiveThroughNATS(t *testing.T) {
	natsOrSkip(t)
	a := apitest.New(t)
	p := a.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, a, p, 1)
	units := a.Client.Unit.Query().Where(unit.ProjectID(p.ID)).Order(unit.ByNumber()).AllX(apitest.System())
	b, hub := natsPair(t, a)
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	tok, _, _ := a.Signer.Issue(viewers[0])
	s := must(dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok}))
	subscribeGrid(t, s, hub, p.ID, "")
	agent := a.As(t, viewers[0])
	for _, u := range units {
		agent.Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	}
	agent.Query(t, releaseMutation, map[string]any{"u": units[0].ID}).Decode(t, &struct{}{})
	for i, want := range []string{string(units[0].ID) + " HELD", string(units[1].ID) + " HELD", string(units[0].ID) + " AVAILABLE"} {
		if e := nextGrid(t, s); e.String() != want {
			t.Fatalf("event %d through NATS: %s, want %s", i, e, want)
		}
	}
}

// BenchmarkLiveLatencyThroughNATS is BenchmarkLiveLatencyAcrossServers
// with the second server hearing of events only through NATS JetStream.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench LiveLatencyThroughNATS -benchtime 400x
func BenchmarkLiveLatencyThroughNATS(b *testing.B) {
	natsOrSkip(b)
	if !dbtest.OnPostgres() {
		b.Skip("two servers on one database; set TEST_DATABASE_URL")
	}
	a := apitest.New(b)
	second, hub := natsPair(b, a)
	latencyBench(b, a, second, hub)
}

// deleteStream removes a test's stream from the shared NATS server.
func deleteStream(name string) {
	nc, err := nats.Connect(natsURL)
	if err != nil {
		return
	}
	defer nc.Close()
	if js, err := jetstream.New(nc); err == nil {
		_ = js.DeleteStream(context.Background(), name)
	}
}
