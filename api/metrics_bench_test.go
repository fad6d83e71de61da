package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/ent/user"
	"estatecrm/metrics"
)

// BenchmarkSalesGridMetrics is BenchmarkSalesGrid through two handlers built
// alike but for metrics, off and on, one after the other in the same run, so
// that their difference is the cost of the metrics.
//
//	go test ./api -run '^$' -bench SalesGridMetrics -benchtime 300x -count 3
func BenchmarkSalesGridMetrics(b *testing.B) {
	env, p, token := benchProject(b)
	body := `{"query":` + quote(tourGridQuery) + `,"variables":{"p":"` + string(p.ID) + `"}}`
	benchMetrics(b, env, token, body)
}

// BenchmarkTinyQueryMetrics does the same with the smallest query, where a
// fixed cost per request weighs most.
//
//	go test ./api -run '^$' -bench TinyQueryMetrics -benchtime 20000x -count 3
func BenchmarkTinyQueryMetrics(b *testing.B) {
	env := apitest.New(b)
	_, agent := env.User(b, user.RoleAGENT, "agent.hz1")
	token, _, err := env.Signer.Issue(agent)
	if err != nil {
		b.Fatal(err)
	}
	benchMetrics(b, env, token, `{"query":"query Tiny { __typename }"}`)
}

func benchMetrics(b *testing.B, env *apitest.Env, token, body string) {
	handlers := map[string]http.Handler{
		"off": metricsHandler(env, nil, false),
		"on":  metricsHandler(env, metrics.NewRegistry(env.DB.SQL), true),
	}
	for _, clients := range []int{1, 50} {
		for _, m := range []string{"off", "on"} {
			b.Run(fmt.Sprintf("clients=%d/metrics=%s", clients, m), func(b *testing.B) {
				env.Handler = handlers[m]
				b.ReportAllocs()
				benchParallel(b, env, token, body, clients)
			})
		}
	}
}
