package api_test

// What a portal's paid request costs the database (issues 10 and 12): the
// refund of what an answer did not use rides on the key's next take instead
// of a statement of its own, and the key's row is read once per
// revocation TTL, not per request. Neither may lose a refund, nor let a
// revoked key or a changed budget linger past what SPEC §3.4 allows.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/account"
	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/cost"
	"estatecrm/database/dbtest"
)

// countingStore counts the statements a cost store sends: each Take or
// TakeRefunding of the PostgreSQL store is one statement.
type countingStore struct {
	cost.Refunder
	n atomic.Int64
}

func (s *countingStore) Take(ctx context.Context, key string, b cost.Budget, n int, now time.Time) (float64, bool, error) {
	s.n.Add(1)
	return s.Refunder.Take(ctx, key, b, n, now)
}

func (s *countingStore) TakeRefunding(ctx context.Context, key string, b cost.Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	s.n.Add(1)
	return s.Refunder.TakeRefunding(ctx, key, b, refund, n, now)
}

// TestCostRefundRidesOnTheNextTake: a refund shows in the answer that
// earned it and in the next request's currentlyAvailable, with one store
// statement per request; a take refused for a short budget still gives the
// refund back; a query over the whole budget too.
func TestCostRefundRidesOnTheNextTake(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	now := fixedClock(env)
	key := newPortalKey(t, env, 150, 1)
	store := &countingStore{Refunder: cost.NewMemory()}
	if env.DB.Dialect == "postgres" {
		store.Refunder = cost.NewPostgres(env.DB.SQL)
	}
	clock := func() time.Time { return env.Now() }
	h := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: env.Signer, APIKeys: auth.NewAPIKeys(env.Client, clock), Now: clock, Costs: store,
	})
	statements := func(what string, want int64) {
		t.Helper()
		if n := store.n.Swap(0); n != want {
			t.Fatalf("%s: %d statements to the cost store, want %d", what, n, want)
		}
	}

	// 61 taken (89 left), 15 owed back: the answer says 104.
	wantCost(t, "first", portalQuery(t, h, key, costUnits), 61, intp(46), 104)
	statements("first", 1)
	// The next take gives the 15 back first: 89 + 15 − 61 = 43, + 15 owed.
	wantCost(t, "second: the first's refund is in", portalQuery(t, h, key, costUnits), 61, intp(46), 58)
	statements("second", 1)
	// 43 + 15 = 58 < 61: refused, but the refund was given back.
	a := portalQuery(t, h, key, costUnits)
	if a.status != http.StatusTooManyRequests || a.retryAfter != "3" {
		t.Fatalf("third: want 429 with Retry-After 3 (61 − 58 at 1 a second), got %d %q", a.status, a.retryAfter)
	}
	wantCost(t, "third: refused", a, 61, nil, 58)
	statements("refused", 1)
	// Nothing is owed now: a query over the budget sees the same 58, and
	// still costs one statement (its throttle status).
	big := portalQuery(t, h, key, `{ units(first: 100) { edges { node { id } } } }`)
	wantCost(t, "over the budget", big, 201, nil, 58)
	statements("over the budget", 1)
	now.Move(3 * time.Second) // 61
	wantCost(t, "restored", portalQuery(t, h, key, costUnits), 61, intp(46), 15)
	// A query that uses all it asked for owes nothing back.
	wantCost(t, "__typename", portalQuery(t, h, key, `{ __typename }`), 1, intp(1), 14)
	statements("two more", 2)
}

// TestCostRefundOwedIsSeenByOtherServers: on PostgreSQL each server leases
// from the shared bucket (cost.Leasing): a refund stays in the lease of
// the server that earned it, spent there without a statement, and reaches
// the shared bucket when that lease ends (cost.LeaseTTL after its
// statement); the other server sees it then: not lost, never more. Each
// server reports the bucket as of its own last statement plus what it
// holds.
func TestCostRefundOwedIsSeenByOtherServers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share budgets through PostgreSQL; set TEST_DATABASE_URL")
	}
	one := apitest.New(t)
	costWorld(t, one)
	two := one.Second(t)
	now := fixedClock(one, two)
	key := newPortalKey(t, one, 1000, 1)

	wantCost(t, "one", portalQuery(t, one.Handler, key, costUnits), 61, intp(46), 954)
	// one holds its 15-point refund: two sees 939.
	wantCost(t, "two before one's lease ends", portalQuery(t, two.Handler, key, `{ __typename }`), 1, intp(1), 938)
	// one pays from its lease: the bucket as one last saw it, 939, and the
	// 14 it still holds; two's take since is not in it.
	wantCost(t, "one again, from its lease", portalQuery(t, one.Handler, key, `{ __typename }`), 1, intp(1), 953)
	// A second later (+1) one's lease has ended: its next take gives the 14
	// back first (938 + 1 + 14 − 1), and two sees them.
	now.Move(cost.LeaseTTL)
	wantCost(t, "one, its lease given back", portalQuery(t, one.Handler, key, `{ __typename }`), 1, intp(1), 952)
	wantCost(t, "two sees it", portalQuery(t, two.Handler, key, `{ __typename }`), 1, intp(1), 951)
}

// TestPortalListingStatements: a portal's page of units with their project
// sends the page's statements and one to the cost store; the key's row is
// read once per revocation TTL (and when it changes), not per request.
func TestPortalListingStatements(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	forward := movableClock(env)
	limit := 100000
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "portal", RateLimitPerMinute: &limit})
	if err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Refunder: cost.NewMemory()}
	if env.DB.Dialect == "postgres" {
		store.Refunder = cost.NewPostgres(env.DB.SQL)
	}
	clock := func() time.Time { return env.Now() }
	h := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: env.Signer, APIKeys: auth.NewAPIKeys(env.Client, clock), Now: clock, Costs: store,
	})
	const q = `{ units(first: 20, where: {status: AVAILABLE}, orderBy: [{field: LIST_PRICE}]) { edges { node { id number floor bedrooms grossArea listPrice project { name } } } } }`
	keyReads := func(stmts []string) (n int) {
		for _, s := range stmts {
			if strings.Contains(s, "api_keys") {
				n++
			}
		}
		return n
	}
	request := func(what string) (ent int64, keys int) {
		t.Helper()
		env.Counter.Reset()
		env.Counter.Record()
		store.n.Store(0)
		a := portalQuery(t, h, k.Key, q)
		if a.status != http.StatusOK || len(a.Errors) > 0 || a.Ext.Cost == nil {
			t.Fatalf("%s: status %d, errors %v", what, a.status, a.Errors)
		}
		if n := store.n.Load(); n != 1 {
			t.Fatalf("%s: %d statements to the cost store, want 1 (the take, carrying the refund)", what, n)
		}
		return env.Counter.Count(), keyReads(env.Counter.Statements())
	}

	// The first request reads the key and records its last use; the row is
	// cached with it.
	if _, keys := request("first"); keys == 0 {
		t.Fatal("the first request did not read the key")
	}
	n, keys := request("second")
	if keys != 0 {
		t.Fatalf("second request: %d statements on api_keys, want none (cached): %q", keys, env.Counter.Statements())
	}
	page := n
	// The units page with the project's name read in it
	// (graph/unit_project.go), as an agent's same query.
	if page != 1 {
		t.Fatalf("the page took %d statements, want 1: %q", page, env.Counter.Statements())
	}
	for i := range 5 {
		if n, keys := request("cached"); keys != 0 || n != page {
			t.Fatalf("request %d within the TTL: %d statements (%d on api_keys), want %d and none on api_keys: %q", i, n, keys, page, env.Counter.Statements())
		}
	}
	forward(auth.DefaultRevocationTTL + time.Second)
	if n, keys := request("past the TTL"); keys != 1 || n != page+1 {
		t.Fatalf("past the TTL: %d statements (%d on api_keys), want the key read again and the page", n, keys)
	}
	// A revocation through this process's client applies at once.
	if _, err := account.RevokeAPIKey(apitest.System(), env.Client, k.APIKey.ID); err != nil {
		t.Fatal(err)
	}
	if a := portalQuery(t, h, k.Key, q); a.status != http.StatusUnauthorized {
		t.Fatalf("a revoked key: %d, want 401", a.status)
	}
}

// TestRevokedKeySeenByOtherServersWithinTTL: a key revoked through another
// process stops working here once the revocation TTL has passed.
func TestRevokedKeySeenByOtherServersWithinTTL(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("two server processes need PostgreSQL; set TEST_DATABASE_URL")
	}
	one := apitest.New(t)
	costWorld(t, one)
	two := one.Second(t)
	forward := movableClock(one)
	key, err := account.CreateAPIKey(apitest.System(), one.Client, account.NewAPIKey{Name: "portal"})
	if err != nil {
		t.Fatal(err)
	}
	if a := portalQuery(t, one.Handler, key.Key, `{ __typename }`); a.status != http.StatusOK {
		t.Fatalf("before: %d", a.status)
	}
	if _, err := account.RevokeAPIKey(apitest.System(), two.Client, key.APIKey.ID); err != nil {
		t.Fatal(err)
	}
	forward(auth.DefaultRevocationTTL + time.Second)
	if a := portalQuery(t, one.Handler, key.Key, `{ __typename }`); a.status != http.StatusUnauthorized {
		t.Fatalf("revoked through the other server, past the TTL: %d, want 401", a.status)
	}
}

// TestPortalListingsLeaseTheBudget: through the server's store (a lease of
// the shared bucket per process, cost.Leasing), a portal paging quickly
// sends a statement to the cost store per lease, not per request, and
// every answer still reports what the key has left.
func TestPortalListingsLeaseTheBudget(t *testing.T) {
	env := apitest.New(t)
	costWorld(t, env)
	fixedClock(env)
	budget, restore := 100000, 1
	k, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "portal", CostBudget: &budget, CostRestoreRate: &restore})
	if err != nil {
		t.Fatal(err)
	}
	key := k.Key
	store := &countingStore{Refunder: cost.NewMemory()}
	if env.DB.Dialect == "postgres" {
		store.Refunder = cost.NewPostgres(env.DB.SQL)
	}
	leases := cost.NewLeasing(store, time.Hour)
	t.Cleanup(func() { leases.Close(context.Background()) })
	clock := func() time.Time { return env.Now() }
	h := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: env.Signer, APIKeys: auth.NewAPIKeys(env.Client, clock), Now: clock, Costs: leases,
	})
	for i := range 20 {
		// Each page requests 61 and uses 46 (15 units): 46 spent a request.
		wantCost(t, fmt.Sprintf("page %d", i+1), portalQuery(t, h, key, costUnits), 61, intp(46), 100000-46*(i+1))
		if i == 0 {
			if n := store.n.Load(); n != 1 {
				t.Fatalf("the first request sent %d statements to the cost store, want 1", n)
			}
		}
	}
	// Leases of 61, then 61, 122, 244, 488 and 976 beyond the page that
	// asked: 20 pages in 5 statements.
	if n := store.n.Load(); n > 6 {
		t.Fatalf("20 pages sent %d statements to the cost store, want a few (one per lease)", n)
	}
	if err := leases.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The lease's rest is back in the shared bucket: it holds what the
	// pages did not spend.
	left, ok, err := store.Refunder.Take(context.Background(), "ak:"+string(k.APIKey.ID), cost.Budget{Max: 100000, RestoreRate: 1}, 0, env.Now())
	if err != nil || !ok || left < 100000-46*20-0.01 || left > 100000-46*20+0.01 {
		t.Fatalf("after the lease ended the shared bucket holds %.2f (%v %v), want 100,000 − 20 × 46", left, ok, err)
	}
}
