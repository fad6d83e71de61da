package api_test

import (
	"fmt"
	"sync/atomic"
	"testing"
)

// BenchmarkUnitsPage measures a cheap, statement-bound request through the
// whole handler: 20 available units of a project in a price range with the
// project's name, as an agent, asking for pageInfo but not totalCount
// (2 statements). Where the sales grid measures marshalling, this one
// measures what each statement costs (round trips, planning).
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench UnitsPage -benchtime 2000x
func BenchmarkUnitsPage(b *testing.B) {
	env, p, token := benchProject(b)
	const q = `query Listing($p: ID!, $lo: Money!, $hi: Money!) {
  units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $lo, listPriceLT: $hi}, orderBy: [{field: LIST_PRICE}]) {
    pageInfo { hasNextPage endCursor }
    edges { node { id number listPrice bedrooms grossArea project { name } } }
  }
}`
	body := `{"query":` + quote(q) + `,"variables":{"p":"` + string(p.ID) + `","lo":"3050000","hi":"3250000"}}`
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			benchParallel(b, env, token, body, clients)
		})
	}
}

// BenchmarkUnitsPageNewRange is BenchmarkUnitsPage with a price range no
// request asked for before (cmd/bench's "a new range each time"): the
// answer cache (api/answers.go) never answers, so it measures the stack.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench UnitsPageNewRange -benchmem -benchtime 3000x
func BenchmarkUnitsPageNewRange(b *testing.B) {
	env, p, token := benchProject(b)
	const q = `query($p: ID!, $min: Money!, $max: Money!) { units(first: 20, where: {projectID: $p, status: AVAILABLE, listPriceGTE: $min, listPriceLTE: $max}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number floor bedrooms grossArea listPrice project { name } } } } }`
	var n atomic.Int64
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			b.ReportAllocs()
			benchBodies(b, env, token, func(int64) string {
				// The minimum a fen higher each time.
				fen := n.Add(1)
				return `{"query":` + quote(q) + `,"variables":{"p":"` + string(p.ID) +
					fmt.Sprintf(`","min":"%d.%02d","max":"3250000"}}`, 3050000+fen/100, fen%100)
			}, clients)
		})
	}
}
