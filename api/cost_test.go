package api_test

// Portal keys pay for their operations in query-cost points (issue 12, part
// 4; package cost): the requested cost is taken before the operation runs,
// what the answer did not use is given back, the budget restores by the
// server's clock, and a short budget refuses the operation before anything
// runs. Staff pay nothing by cost.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api/apitest"
	"estatecrm/cost"
	"estatecrm/database/dbtest"
)

// costAnswer is a response with its extensions.cost.
type costAnswer struct {
	Data   json.RawMessage `json:"data"`
	Errors []apitest.Error `json:"errors"`
	Ext    struct {
		Cost *cost.Report `json:"cost"`
	} `json:"extensions"`
	status     int
	retryAfter string
}

// portalQuery sends query with the key through h and decodes the answer.
func portalQuery(t *testing.T, h http.Handler, key, query string) costAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/query", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var a costAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer is not JSON: %s", rec.Body)
	}
	a.status, a.retryAfter = rec.Code, rec.Header().Get("Retry-After")
	return a
}

// newPortalKey makes a key with the given budget and returns the key to send.
func newPortalKey(t *testing.T, env *apitest.Env, budget, restore int) string {
	t.Helper()
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "budgeted", CostBudget: &budget, CostRestoreRate: &restore})
	if err != nil {
		t.Fatal(err)
	}
	return k.Key
}

// fixedClock sets the servers' clock to a time the test moves.
func fixedClock(envs ...*apitest.Env) *testClock {
	c := &testClock{t: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	for _, e := range envs {
		e.Now = c.Now
	}
	return c
}

// testClock is a clock a test moves while others read it: a portal key's
// lease ends on a timer of its own, by the requests' clock (cost.Leasing).
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Move moves the clock by d.
func (c *testClock) Move(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// costUnits asks for 20 units with their project: it requests 1 + 20 × (edge
// + node + project) = 61 points; over the 15 published units of costWorld it
// returns 1 + 15 × 3 = 46 objects.
const costUnits = `{ units(first: 20) { edges { node { id number project { name } } } } }`

func costWorld(t *testing.T, env *apitest.Env) {
	t.Helper()
	env.Project(t, "成本·一期", 1, 3, 5)
}

func wantCost(t *testing.T, what string, a costAnswer, requested int, actual *int, available int) {
	t.Helper()
	c := a.Ext.Cost
	if c == nil {
		t.Fatalf("%s: no extensions.cost in the answer (status %d, errors %v)", what, a.status, a.Errors)
	}
	gotActual, wantActual := "null", "null"
	if c.ActualQueryCost != nil {
		gotActual = itoa(*c.ActualQueryCost)
	}
	if actual != nil {
		wantActual = itoa(*actual)
	}
	if c.RequestedQueryCost != requested || gotActual != wantActual || c.ThrottleStatus.CurrentlyAvailable != available {
		t.Fatalf("%s: cost requested %d actual %s available %d, want %d %s %d", what,
			c.RequestedQueryCost, gotActual, c.ThrottleStatus.CurrentlyAvailable, requested, wantActual, available)
	}
}

// readsUnits finds a statement on the units or projects table (quoted as
// SQLite or PostgreSQL quote them).
func readsUnits(statements []string) (string, bool) {
	for _, s := range statements {
		for _, table := range []string{"`units`", `"units"`, "`projects`", `"projects"`} {
			if strings.Contains(s, table) {
				return s, true
			}
		}
	}
	return "", false
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func intp(n int) *int { return &n }

// TestCostAccountingAndRestore: each answer reports the requested and the
// actual cost; the difference is refunded, and the budget restores at its
// rate by the server's (injected) clock, up to its maximum.
func TestCostAccountingAndRestore(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	now := fixedClock(env)
	key := newPortalKey(t, env, 1000, 50)

	a := portalQuery(t, env.Handler, key, costUnits)
	if a.status != http.StatusOK || len(a.Errors) > 0 {
		t.Fatalf("status %d, errors %v", a.status, a.Errors)
	}
	var data struct {
		Units struct{ Edges []json.RawMessage }
	}
	if err := json.Unmarshal(a.Data, &data); err != nil || len(data.Units.Edges) != 15 {
		t.Fatalf("want the 15 published units: %s", a.Data)
	}
	// 61 taken, 15 refunded: 1,000 − 46.
	wantCost(t, "first query", a, 61, intp(46), 954)
	if s := a.Ext.Cost.ThrottleStatus; s.MaximumAvailable != 1000 || s.RestoreRate != 50 {
		t.Fatalf("throttle status %+v", s)
	}
	wantCost(t, "same instant", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 908)
	now.Move(time.Second) // +50
	wantCost(t, "a second later", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 912)
	now.Move(400 * time.Millisecond) // +20
	wantCost(t, "0.4 s later", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 886)
	now.Move(time.Hour)
	wantCost(t, "an hour later: full, never more", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 954)
	// A query of scalars only costs the least, 1.
	wantCost(t, "__typename", portalQuery(t, env.Handler, key, `{ __typename }`), 1, intp(1), 953)
}

// TestCostRateLimitedRunsNothing: an operation the budget cannot pay is
// refused with RATE_LIMITED, HTTP 429 and Retry-After (seconds until the
// budget holds its cost), before anything runs and without taking points;
// once restored it runs. One over the whole budget is refused for good with
// BAD_USER_INPUT, reason MAX_COST_EXCEEDED.
func TestCostRateLimitedRunsNothing(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	now := fixedClock(env)
	key := newPortalKey(t, env, 100, 2)

	wantCost(t, "first", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 54)

	env.Counter.Record()
	a := portalQuery(t, env.Handler, key, costUnits)
	if a.status != http.StatusTooManyRequests || len(a.Errors) != 1 || a.Errors[0].Code() != "RATE_LIMITED" {
		t.Fatalf("want 429 RATE_LIMITED, got %d %v", a.status, a.Errors)
	}
	// 61 − 54 = 7 points at 2 a second: 3.5 s, 4 in whole seconds.
	if a.retryAfter != "4" {
		t.Fatalf("Retry-After %q, want 4", a.retryAfter)
	}
	if string(a.Data) != "" && string(a.Data) != "null" {
		t.Fatalf("a refused operation answered data: %s", a.Data)
	}
	wantCost(t, "refused", a, 61, nil, 54)
	if s, ok := readsUnits(env.Counter.Statements()); ok {
		t.Fatalf("the refused operation ran: %s", s)
	}

	now.Move(3 * time.Second) // 60: still short
	if a := portalQuery(t, env.Handler, key, costUnits); a.status != http.StatusTooManyRequests || a.retryAfter != "1" {
		t.Fatalf("3 s later: want 429 with Retry-After 1, got %d %q", a.status, a.retryAfter)
	}
	now.Move(time.Second) // 62
	env.Counter.Reset()
	env.Counter.Record()
	wantCost(t, "4 s later it runs", portalQuery(t, env.Handler, key, costUnits), 61, intp(46), 16)
	if _, ok := readsUnits(env.Counter.Statements()); !ok {
		t.Fatalf("the statements of an operation that ran are not seen: the checks above would prove nothing: %q", env.Counter.Statements())
	}

	env.Counter.Reset()
	env.Counter.Record()
	big := portalQuery(t, env.Handler, key, `{ units(first: 100) { edges { node { id } } } }`)
	if len(big.Errors) != 1 || big.Errors[0].Code() != "BAD_USER_INPUT" || big.Errors[0].Extensions["reason"] != cost.ReasonMaxCostExceeded {
		t.Fatalf("want BAD_USER_INPUT MAX_COST_EXCEEDED, got %d %v", big.status, big.Errors)
	}
	if !strings.Contains(big.Errors[0].Message, "201") || !strings.Contains(big.Errors[0].Message, "100") {
		t.Fatalf("the message should say the cost and the budget: %q", big.Errors[0].Message)
	}
	wantCost(t, "over the budget: nothing taken", big, 201, nil, 16)
	if s, ok := readsUnits(env.Counter.Statements()); ok {
		t.Fatalf("the refused operation ran: %s", s)
	}
}

// TestCostStaffDoNotPay: a user's answers carry no throttle status and are
// never refused by cost (users keep their request limits).
func TestCostStaffDoNotPay(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	fixedClock(env)
	for range 3 {
		res := env.Query(t, `{ units(first: 100) { edges { node { id project { name } } } } }`, nil)
		if res.Status != http.StatusOK || len(res.Errors) > 0 {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		if strings.Contains(string(res.Body), "throttleStatus") {
			t.Fatalf("a user's answer has a throttle status: %s", res.Body)
		}
	}
}

// TestCostOneBudgetAcrossServers: two servers over one PostgreSQL database
// (each with its own client and pool, as two processes) share each key's
// budget: what one spends, the other sees, and it refuses what the first
// left too little for.
func TestCostOneBudgetAcrossServers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share budgets through PostgreSQL; set TEST_DATABASE_URL")
	}
	one := apitest.New(t)
	costWorld(t, one)
	two := one.Second(t)
	fixedClock(one, two)
	key := newPortalKey(t, one, 100, 1)

	wantCost(t, "server one", portalQuery(t, one.Handler, key, costUnits), 61, intp(46), 54)
	// Server one owes its 15-point refund to the bucket until its next take
	// for the key (cost.Limiter): server two sees what one took, 39.
	wantCost(t, "server two sees it", portalQuery(t, two.Handler, key, `{ __typename }`), 1, intp(1), 38)
	a := portalQuery(t, two.Handler, key, costUnits)
	if a.status != http.StatusTooManyRequests || a.retryAfter != "23" {
		t.Fatalf("server two: want 429 with Retry-After 23 (61 − 38 at 1 a second), got %d %q", a.status, a.retryAfter)
	}
	// Server one's next take gives its refund back first: 38 + 15 = 53,
	// still short of 61.
	a = portalQuery(t, one.Handler, key, costUnits)
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("server one: want 429, got %d", a.status)
	}
	wantCost(t, "server one, its refund given back", a, 61, nil, 53)
	wantCost(t, "server two sees the refund", portalQuery(t, two.Handler, key, `{ __typename }`), 1, intp(1), 52)
}

// TestCostBudgetSetByAdminAppliesAtOnce: an admin's updateAPIKey changes the
// key's budget for its next request: a smaller one drops the points above
// it, and the new restore rate applies.
func TestCostBudgetSetByAdminAppliesAtOnce(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	now := fixedClock(env)
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "portal"})
	if err != nil {
		t.Fatal(err)
	}
	wantCost(t, "default budget", portalQuery(t, env.Handler, k.Key, costUnits), 61, intp(46), 954)
	res := env.Query(t, `mutation($id: ID!) { updateAPIKey(input: {id: $id, costBudget: 100, costRestoreRate: 10}) { apiKey { costBudget costRestoreRate } } }`,
		map[string]any{"id": k.APIKey.ID})
	if res.Status != http.StatusOK || len(res.Errors) > 0 {
		t.Fatalf("updateAPIKey: %s", res.Body)
	}
	a := portalQuery(t, env.Handler, k.Key, costUnits)
	wantCost(t, "budget of 100: 954 drops to 100, then 46 spent", a, 61, intp(46), 54)
	if s := a.Ext.Cost.ThrottleStatus; s.MaximumAvailable != 100 || s.RestoreRate != 10 {
		t.Fatalf("throttle status %+v, want max 100 restoring 10", s)
	}
	now.Move(2 * time.Second) // +20
	wantCost(t, "restores at 10 a second", portalQuery(t, env.Handler, k.Key, costUnits), 61, intp(46), 28)
}
