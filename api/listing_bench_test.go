package api_test

import (
	"fmt"
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
