package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/cost"
)

// BenchmarkPortalCost measures what paying by cost adds to a portal's
// request: the same page of 20 units with their project's name, through
// the whole handler, with the budgets in this process's memory and in
// PostgreSQL (one statement: the take before the operation, carrying the
// refund of the key's previous answer). The key's budget is large enough never to refuse.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench PortalCost -benchtime 2000x
func BenchmarkPortalCost(b *testing.B) {
	env, p, _ := benchProject(b)
	budget, restore, limit := 1_000_000, 100_000, 100_000
	k, err := accountKey(env, budget, restore, limit)
	if err != nil {
		b.Fatal(err)
	}
	const q = `query Listing($p: ID!) {
  units(first: 20, where: {projectID: $p, status: AVAILABLE}, orderBy: [{field: LIST_PRICE}]) {
    edges { node { id number listPrice bedrooms grossArea project { name } } }
  }
}`
	body := `{"query":` + quote(q) + `,"variables":{"p":"` + string(p.ID) + `"}}`
	now := func() time.Time { return env.Now() }
	stores := map[string]http.Handler{"memory": api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: env.Signer, APIKeys: auth.NewAPIKeys(env.Client, now), Now: now, Costs: cost.NewMemory(),
	})}
	if env.DB.Dialect == "postgres" {
		stores["postgres"] = env.Handler
	}
	for _, name := range []string{"memory", "postgres"} {
		h, ok := stores[name]
		if !ok {
			continue
		}
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("store=%s/clients=%d", name, clients), func(b *testing.B) {
				portalParallel(b, h, k, body, clients)
			})
		}
	}
}

func accountKey(env *apitest.Env, budget, restore, limit int) (string, error) {
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "bench",
		RateLimitPerMinute: &limit, CostBudget: &budget, CostRestoreRate: &restore})
	if err != nil {
		return "", err
	}
	return k.Key, nil
}

// portalParallel is benchParallel with an API key and a handler of choice.
func portalParallel(b *testing.B, h http.Handler, key, body string, clients int) {
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-API-Key", key)
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				lat[i] = time.Since(start)
				if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) || !strings.Contains(rec.Body.String(), "throttleStatus") {
					b.Errorf("request failed: %d %.300s", rec.Code, rec.Body.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
