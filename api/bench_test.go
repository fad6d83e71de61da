package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent"
	"estatecrm/ent/user"
)

// BenchmarkSalesGrid measures the sales grid of a 600-unit project through the
// whole handler (HTTP, GraphQL, database) with 1 and 50 concurrent clients,
// and reports p50/p99 latency.
//
//	go test ./api -run '^$' -bench SalesGrid -benchtime 1000x
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench SalesGrid -benchtime 1000x
func BenchmarkSalesGrid(b *testing.B) {
	env, p, token := benchProject(b)
	body := `{"query":` + quote(tourGridQuery) + `,"variables":{"p":"` + string(p.ID) + `"}}`
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchParallel(b, env, token, body, clients)
		})
	}
}

// benchParallel posts body b.N times from the given number of concurrent
// clients and reports p50/p99 latency.
func benchParallel(b *testing.B, env *apitest.Env, token, body string, clients int) {
	benchBodies(b, env, token, func(int64) string { return body }, clients)
}

// benchBodies is benchParallel with the body of request i given by bodyOf.
func benchBodies(b *testing.B, env *apitest.Env, token string, bodyOf func(i int64) string, clients int) {
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
				req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(bodyOf(i)))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				start := time.Now()
				env.Handler.ServeHTTP(rec, req)
				lat[i] = time.Since(start)
				if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"errors"`) {
					b.Errorf("request failed: %d %.200s", rec.Code, rec.Body.String())
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

// tourGridQuery is what a phone asks for during a tour: each cell's door
// number, status, layout, area and price.
const tourGridQuery = `query TourGrid($p: ID!) {
  salesGrid(projectId: $p) {
    project { id name }
    statusCounts { status count }
    buildings { building { id name } floors { floor units { id number status bedrooms livingRooms grossArea listPrice } } }
  }
}`

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(s) + `"`
}

// benchProject is the benchmarks' world: a 600-unit project and the access
// token of an agent working in it.
func benchProject(b *testing.B) (*apitest.Env, *ent.Project, string) {
	env := apitest.New(b)
	p := env.Project(b, "滨江·云玺", 5, 30, 4) // 600 units
	_, agent := env.User(b, user.RoleAGENT, "agent.hz1", p)
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		b.Fatal(err)
	}
	return env, p, token
}
