package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
	"estatecrm/ent/unit"
	"estatecrm/live"
)

// BenchmarkLiveLatencyAcrossServers measures how long a unit's change made
// through one server takes to reach a WebSocket subscriber of another
// server on the same PostgreSQL database (two server.New handlers and hubs
// in one process, each with its own connections: two processes as far as
// the database is concerned). One change at a time: hold, then release,
// each waited for. Reported: p50 and p99 from the mutation's answer (its
// commit) to the event's arrival ("ms-commit-to-event"), and from the
// mutation's sending ("ms-send-to-event").
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench LiveLatencyAcrossServers -benchtime 400x
func BenchmarkLiveLatencyAcrossServers(b *testing.B) {
	if !dbtest.OnPostgres() {
		b.Skip("two servers share events through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(b)
	second := a.Second(b)
	latencyBench(b, a, second.Handler, second.Hub)
}

// latencyBench measures the latency of unit events made through a to a
// subscriber of the server second with hub.
func latencyBench(b *testing.B, a *apitest.Env, second http.Handler, hub *live.Hub) {
	p := a.Project(b, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(b, a, p, 1)
	u := a.Client.Unit.Query().Where(unit.ProjectID(p.ID)).OnlyX(apitest.System())
	srv := httptest.NewServer(second)
	b.Cleanup(srv.Close)
	tok, _, _ := a.Signer.Issue(viewers[0])
	s, err := dialFor(b, srv.URL, map[string]any{"Authorization": "Bearer " + tok}, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	subscribeGrid(b, s, hub, p.ID, "")
	agent := a.As(b, viewers[0])

	var fromCommit, fromSend []time.Duration
	b.ResetTimer()
	for i := range b.N {
		q, vars := holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}
		if i%2 == 1 {
			q, vars = releaseMutation, map[string]any{"u": u.ID}
		}
		sent := time.Now()
		agent.Query(b, q, vars).Decode(b, &struct{}{})
		answered := time.Now()
		nextGrid(b, s)
		got := time.Now()
		fromCommit = append(fromCommit, got.Sub(answered))
		fromSend = append(fromSend, got.Sub(sent))
	}
	b.StopTimer()
	report := func(d []time.Duration, name string) {
		slices.Sort(d)
		b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, name+"-p50")
		b.ReportMetric(float64(d[len(d)*99/100].Microseconds())/1000, name+"-p99")
	}
	report(fromCommit, "ms-commit-to-event")
	report(fromSend, "ms-send-to-event")
}
