package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/metrics"
)

// withMetrics serves env's data through a handler that keeps metrics in a
// registry of its own and serves them at /metrics when serve is set.
func withMetrics(t testing.TB, env *apitest.Env, serve bool) *prometheus.Registry {
	t.Helper()
	reg := metrics.NewRegistry(env.DB.SQL)
	env.Handler = metricsHandler(env, reg, serve)
	return reg
}

func metricsHandler(env *apitest.Env, reg *prometheus.Registry, serve bool) http.Handler {
	now := func() time.Time { return env.Now() }
	return api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, UploadDir: env.Uploads, ServeMetrics: serve}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(env.Log, nil)), Signer: env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, now), APIKeys: auth.NewAPIKeys(env.Client, now),
		Now: now, Hub: env.Hub, Photos: env.Photos, Metrics: reg,
	})
}

// scrape reads /metrics through h as Prometheus would.
func scrape(t testing.TB, h http.Handler) families {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	return parse(t, rec.Body)
}

func parse(t testing.TB, r io.Reader) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		t.Fatalf("/metrics is not in the Prometheus text format: %v", err)
	}
	return fams
}

type families map[string]*dto.MetricFamily

// series returns the series of the family name whose labels include want
// (name=value pairs).
func (f families) series(name string, want ...string) []*dto.Metric {
	var out []*dto.Metric
	fam := f[name]
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.Metric {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value is the value of the one series of a gauge or counter (0 when it
// does not exist), or the sample count of a histogram.
func (f families) value(t testing.TB, name string, labels ...string) float64 {
	t.Helper()
	s := f.series(name, labels...)
	switch {
	case len(s) == 0:
		return 0
	case len(s) > 1:
		t.Fatalf("%s%v: %d series, want one", name, labels, len(s))
	}
	switch m := s[0]; {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%s: unexpected type", name)
	return 0
}

// waitFor scrapes until cond holds, for up to 10 s: the gauges follow
// connections that other goroutines open and close.
func waitFor(t *testing.T, h http.Handler, what string, cond func(families) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if cond(scrape(t, h)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never showed %s", what)
		}
	}
}

const (
	opDuration = "estatecrm_graphql_operation_duration_seconds"
	errorsName = "estatecrm_graphql_errors_total"
	inFlight   = "estatecrm_http_requests_in_flight"
	sockets    = "estatecrm_websocket_connections"
	subsActive = "estatecrm_graphql_subscriptions_active"
)

// After a query, a mutation refused with a code, an unauthenticated request
// and a subscription, /metrics shows each of them; the pool, runtime and
// process figures are there too.
func TestMetricsFollowRequests(t *testing.T) {
	env := apitest.New(t)
	withMetrics(t, env, true)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	h := env.Handler

	before := scrape(t, h)
	for _, name := range []string{
		"go_sql_open_connections", "go_sql_in_use_connections", "go_sql_idle_connections",
		"go_sql_max_open_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total",
	} {
		if len(before.series(name, "db_name", "estatecrm")) != 1 {
			t.Errorf("no database pool figure %s{db_name=\"estatecrm\"}", name)
		}
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_resident_memory_bytes", inFlight, sockets, subsActive} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}

	if res := env.As(t, viewers[0]).Query(t, `query MetricsMe { me { login } }`, nil); len(res.Errors) != 0 {
		t.Fatalf("query: %s", res.Body)
	}
	const hold = `mutation MetricsHold($u: ID!, $c: ID!) { holdUnit(input: {unitId: $u, customerId: $c}) { unit { id } } }`
	if res := env.As(t, viewers[0]).Query(t, hold, map[string]any{"u": u.ID, "c": customers[0].ID}); len(res.Errors) != 0 {
		t.Fatalf("first hold: %s", res.Body)
	}
	refused := env.As(t, viewers[1]).Query(t, hold, map[string]any{"u": u.ID, "c": customers[1].ID}).OnlyError(t)
	if refused.Code() == "" {
		t.Fatalf("the second hold was refused without a code: %v", refused)
	}
	// Refused before GraphQL runs, by the authentication middleware.
	forged := env.WithHeader("Authorization", "Bearer forged").Query(t, `query MetricsForged { me { login } }`, nil).OnlyError(t)

	after := scrape(t, h)
	if n := after.value(t, opDuration, "operation", "MetricsMe", "type", "query"); n != 1 {
		t.Errorf("MetricsMe query: %v samples, want 1", n)
	}
	if n := after.value(t, opDuration, "operation", "MetricsHold", "type", "mutation"); n != 2 {
		t.Errorf("MetricsHold mutation: %v samples, want 2", n)
	}
	if refused.Code() == forged.Code() {
		t.Fatalf("the test needs two different codes, got %s twice", refused.Code())
	}
	for _, code := range []string{refused.Code(), forged.Code()} {
		if d := after.value(t, errorsName, "code", code) - before.value(t, errorsName, "code", code); d != 1 {
			t.Errorf("errors with code %s went up by %v, want 1", code, d)
		}
	}
	if got := len(after.series(errorsName)); got != len(before.series(errorsName)) {
		t.Errorf("the error codes are a fixed set: %d series before, %d after", len(before.series(errorsName)), got)
	}

	// A request in flight: its body is still arriving.
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tok, _, _ := env.Signer.Issue(viewers[0])
	body, send := io.Pipe()
	t.Cleanup(func() { send.CloseWithError(io.ErrUnexpectedEOF) }) // before srv.Close, which waits for the request
	done := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	_, _ = send.Write([]byte(`{"query":"query MetricsSlow { me `))
	waitFor(t, h, "the request in flight", func(f families) bool { return f.value(t, inFlight) == 1 })
	_, _ = send.Write([]byte(`{ login } }"}`))
	send.Close()
	if res := <-done; res == nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the slow request failed: %v", res)
	} else {
		res.Body.Close()
	}
	waitFor(t, h, "no request in flight", func(f families) bool { return f.value(t, inFlight) == 0 })

	// A WebSocket with a subscription, then the subscription completed, then
	// the socket closed.
	s, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(s, env.Hub, p.ID)
	waitFor(t, h, "the open socket and subscription", func(f families) bool {
		return f.value(t, sockets) == 1 && f.value(t, subsActive) == 1 && f.value(t, inFlight) == 0
	})
	s.send(map[string]any{"id": "1", "type": "complete"})
	waitFor(t, h, "the subscription completed", func(f families) bool {
		return f.value(t, subsActive) == 0 && f.value(t, sockets) == 1
	})
	subscribe(s, env.Hub, p.ID)
	waitFor(t, h, "a second subscription", func(f families) bool { return f.value(t, subsActive) == 1 })
	s.conn.CloseNow()
	waitFor(t, h, "the socket closed", func(f families) bool {
		return f.value(t, sockets) == 0 && f.value(t, subsActive) == 0
	})
	if n := scrape(t, h).value(t, opDuration, "type", "subscription"); n != 0 {
		t.Errorf("subscriptions are not timed as operations, got %v samples", n)
	}
}

// Clients choose operation names: a thousand invented ones do not make a
// thousand series, and no request goes uncounted.
func TestMetricsOperationNamesAreCapped(t *testing.T) {
	env := apitest.New(t)
	withMetrics(t, env, true)
	const sent = 1000
	for i := range sent {
		res := env.Anonymous().Query(t, fmt.Sprintf(`query Invented%04d { __typename }`, i), nil)
		if len(res.Errors) != 0 {
			t.Fatalf("request %d: %s", i, res.Body)
		}
	}
	env.Anonymous().Query(t, `{ __typename }`, nil)
	env.Anonymous().Query(t, `query `+strings.Repeat("Long", 100)+` { __typename }`, nil)

	f := scrape(t, env.Handler)
	series := f.series(opDuration)
	if max := metrics.MaxOperations + 4; len(series) > max { // the cap, (anonymous) and (other) for queries and mutations
		t.Fatalf("%d invented names made %d series, want at most %d", sent, len(series), max)
	}
	var total float64
	for _, m := range series {
		total += float64(m.Histogram.GetSampleCount())
	}
	if total != sent+2 {
		t.Fatalf("%v samples in all, want %d: none lost, none twice", total, sent+2)
	}
	if n := f.value(t, opDuration, "operation", metrics.Anonymous, "type", "query"); n != 1 {
		t.Fatalf("the unnamed query: %v samples in %s, want 1", n, metrics.Anonymous)
	}
	if n := f.value(t, opDuration, "operation", metrics.Other, "type", "query"); n != sent-metrics.MaxOperations+1 {
		t.Fatalf("%s has %v samples, want the %d names past the cap and the long one", metrics.Other, n, sent-metrics.MaxOperations+1)
	}
	if n := f.value(t, opDuration, "operation", "Invented0000", "type", "query"); n != 1 {
		t.Fatalf("a name seen before the cap keeps its series: %v samples", n)
	}
}

// /metrics is served on the API's handler only when asked; without a
// registry nothing is kept.
func TestMetricsCanBeTurnedOff(t *testing.T) {
	env := apitest.New(t)
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"no registry", env.Handler},
		{"served elsewhere", metricsHandler(env, metrics.NewRegistry(env.DB.SQL), false)},
	} {
		rec := httptest.NewRecorder()
		tc.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s: GET /metrics answered %d, want 404", tc.name, rec.Code)
		}
	}
}
