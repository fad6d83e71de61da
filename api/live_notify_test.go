package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
	"estatecrm/ent/unit"
)

// The NOTIFY of a unit's change goes after its transaction commits (live:
// inside the transaction it serialized every unit write behind the
// previous one's fsync): a change rolled back is never announced to
// another process, one committed is.
func TestLiveAnnouncesOnlyCommittedChanges(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share changes through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, a, p, 2)
	units := a.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	srvB := httptest.NewServer(b.Handler)
	t.Cleanup(srvB.Close)
	tok, _, _ := b.Signer.Issue(viewers[0])
	watcher, err := dial(t, srvB.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(watcher, b.Hub, p.ID)
	agent := a.As(t, viewers[0])

	// The first hold succeeds, the second (another agent's customer) is
	// refused: the operation's transaction rolls back, the first with it.
	const twice = `mutation($u: ID!, $v: ID!, $c: ID!, $d: ID!) {
	  a: holdUnit(input: {unitId: $u, customerId: $c}) { unit { id } }
	  b: holdUnit(input: {unitId: $v, customerId: $d}) { unit { id } } }`
	res := agent.Query(t, twice, map[string]any{"u": units[0].ID, "v": units[1].ID, "c": customers[0].ID, "d": customers[1].ID})
	if len(res.Errors) == 0 {
		t.Fatalf("holding for another agent's customer was accepted: %s", res.Body)
	}
	if st := a.Client.Unit.GetX(apitest.System(), units[0].ID).Status; st != unit.StatusAVAILABLE {
		t.Fatalf("the refused operation left unit 0 %s", st)
	}

	agent.Query(t, holdMutation, map[string]any{"u": units[1].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	ev := string(must(json.Marshal(watcher.next())))
	if !strings.Contains(ev, string(units[1].ID)) || !strings.Contains(ev, `"status":"HELD"`) {
		t.Fatalf("server B's subscriber heard first %s; want unit 1 HELD (the rolled-back hold of unit 0 is no event)", ev)
	}
}
