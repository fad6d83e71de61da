package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/visit"
)

// post sends a GraphQL request with an Idempotency-Key as v.
func postWithKey(t *testing.T, env *apitest.Env, v *auth.Viewer, key, query string, vars map[string]any) *apitest.Response {
	t.Helper()
	tok, _, err := env.Signer.Issue(v)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Idempotency-Key", key)
	return env.Do(t, req)
}

// 100 retries of one logVisit with one key, 20 of them at once: one visit,
// and every retry gets the first answer.
func TestRetriesWithOneKeyRunOnce(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	const q = `mutation($c: ID!, $at: Time!) { logVisit(input: {customerId: $c, kind: PHONE_CALL, occurredAt: $at}) { visit { id kind } } }`
	vars := map[string]any{"c": customers[0].ID, "at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)}

	bodies := make([][]byte, 100)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bodies[i] = postWithKey(t, env, viewers[0], "visit-7f3a", q, vars).Body
		}()
	}
	wg.Wait()
	for i := 20; i < 100; i++ {
		bodies[i] = postWithKey(t, env, viewers[0], "visit-7f3a", q, vars).Body
	}
	for i, b := range bodies {
		if !bytes.Equal(b, bodies[0]) || bytes.Contains(b, []byte(`"errors"`)) {
			t.Fatalf("retry %d answered differently: %s vs %s", i, b, bodies[0])
		}
	}
	if n := env.Client.Visit.Query().Where(visit.CustomerID(customers[0].ID)).CountX(apitest.System()); n != 1 {
		t.Fatalf("%d visits from 100 retries, want 1", n)
	}

	// The same key with another request is refused, with its own reason.
	other := map[string]any{"c": customers[0].ID, "at": time.Now().UTC().Add(-2 * time.Minute).Format(time.RFC3339)}
	e := postWithKey(t, env, viewers[0], "visit-7f3a", q, other).OnlyError(t)
	if e.Code() != "CONFLICT" || e.Extensions["reason"] != "IDEMPOTENCY_KEY_REUSED" {
		t.Fatalf("a reused key: %+v", e)
	}
	// Keys are per caller: another agent's same key is a request of its own.
	vars2 := map[string]any{"c": customers[1].ID, "at": vars["at"]}
	if res := postWithKey(t, env, viewers[1], "visit-7f3a", q, vars2); len(res.Errors) != 0 {
		t.Fatalf("another caller's key: %s", res.Body)
	}
	// A failed run keeps nothing: after fixing the cause, the same key runs.
	bad := map[string]any{"c": customers[0].ID, "at": time.Now().UTC().Add(time.Hour).Format(time.RFC3339)}
	if e := postWithKey(t, env, viewers[0], "visit-8b1c", q, bad).OnlyError(t); e.Code() != "BAD_USER_INPUT" {
		t.Fatalf("a visit in the future: %+v", e)
	}
	bad["at"] = vars["at"]
	if res := postWithKey(t, env, viewers[0], "visit-8b1c", q, bad); len(res.Errors) == 0 {
		// A different request under the released key is a fresh run.
		if n := env.Client.Visit.Query().Where(visit.CustomerID(customers[0].ID)).CountX(apitest.System()); n != 2 {
			t.Fatalf("%d visits, want 2", n)
		}
	} else {
		t.Fatalf("the key of a failed run was not released: %s", res.Body)
	}
}
