package api_test

import (
	"fmt"
	"net/http"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"estatecrm/api/apitest"
)

// BenchmarkUnitsPageTracing is BenchmarkUnitsPage through three handlers
// built alike but for tracing, one after the other in the same run: off
// (no provider: the default), configured but the request not sampled, and
// on with every span batched to an in-memory exporter. Their difference is
// the cost of tracing.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench UnitsPageTracing -benchtime 2000x
func BenchmarkUnitsPageTracing(b *testing.B) {
	env, p, token := benchProject(b)
	body := `{"query":` + quote(unitsPageQuery) + `,"variables":{"p":"` + string(p.ID) + `","lo":"3050000","hi":"3250000"}}`
	benchTracing(b, env, token, body, 16)
}

// unitsPageQuery is BenchmarkUnitsPage's request.
const unitsPageQuery = `query Listing($p: ID!, $lo: Money!, $hi: Money!) {
  units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $lo, listPriceLT: $hi}, orderBy: [{field: LIST_PRICE}]) {
    pageInfo { hasNextPage endCursor }
    edges { node { id number listPrice bedrooms grossArea project { name } } }
  }
}`

// BenchmarkSalesGridTracing does the same with the 600-unit sales grid:
// thousands of fields, one statement.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench SalesGridTracing -benchtime 300x
func BenchmarkSalesGridTracing(b *testing.B) {
	env, p, token := benchProject(b)
	body := `{"query":` + quote(tourGridQuery) + `,"variables":{"p":"` + string(p.ID) + `"}}`
	benchTracing(b, env, token, body, 50)
}

func benchTracing(b *testing.B, env *apitest.Env, token, body string, many int) {
	exp := tracetest.NewInMemoryExporter()
	on := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	unsampled := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())), sdktrace.WithBatcher(exp))
	b.Cleanup(func() { _ = on.Shutdown(b.Context()); _ = unsampled.Shutdown(b.Context()) })
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"off", tracedHandler(env, nil)},
		{"unsampled", tracedHandler(env, unsampled)},
		{"on", tracedHandler(env, on)},
	}
	for _, clients := range []int{1, many} {
		for _, h := range handlers {
			b.Run(fmt.Sprintf("clients=%d/traces=%s", clients, h.name), func(b *testing.B) {
				env.Handler = h.h
				b.ReportAllocs()
				benchParallel(b, env, token, body, clients)
				exp.Reset() // what was kept is no longer needed
			})
		}
	}
}
