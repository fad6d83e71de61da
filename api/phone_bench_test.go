package api_test

import (
	"fmt"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/ent/visit"
)

// BenchmarkCustomerByPhone measures the request an agent's phone sends most:
// a customer found by the last four digits of a phone, with their last 5
// visits (cmd/bench's "customer by phone"), through the whole handler, with
// 1 and 16 clients. Run it with -benchmem and -cpuprofile to see what a
// request costs the server beside the database.
//
//	TEST_DATABASE_URL=postgres://… go test ./api -run '^$' -bench CustomerByPhone -benchmem -benchtime 3000x
func BenchmarkCustomerByPhone(b *testing.B) {
	env := apitest.New(b)
	w := env.World(b)
	c := env.Client.Visit.Create()
	for i := range 8 { // cA1 (A1's own) has a history
		if _, err := c.SetCustomerID(w.ID("cA1")).SetAgentID(w.Users["A1"].ID).SetProjectID(w.ID("pA")).
			SetKind(visit.KindPHONE_CALL).SetOccurredAt(time.Now().Add(-time.Duration(i+1) * time.Hour)).SetNotes(fmt.Sprintf("call %d", i)).
			Save(apitest.System()); err != nil {
			b.Fatal(err)
		}
		c = env.Client.Visit.Create()
	}
	token, _, err := env.Signer.Issue(w.Viewers["A1"])
	if err != nil {
		b.Fatal(err)
	}
	const q = `query($d: String!) { customers(first: 10, where: {phoneLast4: $d}) { edges { node { id name phone visits(first: 5, orderBy: [{field: OCCURRED_AT, direction: DESC}]) { edges { node { kind occurredAt notes } } } } } } }`
	body := `{"query":` + quote(q) + `,"variables":{"d":"0001"}}`
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			b.ReportAllocs()
			benchParallel(b, env, token, body, clients)
		})
	}
}
