package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/user"
	"estatecrm/throttle"
)

// withLimits serves env's data through a handler with request limits.
func withLimits(t *testing.T, env *apitest.Env, limits api.RequestLimits) {
	t.Helper()
	now := func() time.Time { return env.Now() }
	env.Handler = api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, Limits: limits}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(env.Log, nil)), Signer: env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, now), APIKeys: auth.NewAPIKeys(env.Client, now),
		Now: now, Hub: env.Hub, Photos: env.Photos,
	})
}

// from sends a query from a client address with extra headers.
func from(t *testing.T, env *apitest.Env, addr string, headers map[string]string, query string) (*apitest.Response, http.Header) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.RemoteAddr = addr + ":40000"
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	res := &apitest.Response{Status: rec.Code, Body: rec.Body.Bytes()}
	if err := json.Unmarshal(res.Body, res); err != nil {
		t.Fatalf("not JSON: %s", res.Body)
	}
	return res, rec.Header()
}

func limited(res *apitest.Response, h http.Header) bool {
	return res.Status == http.StatusTooManyRequests && len(res.Errors) == 1 &&
		res.Errors[0].Code() == "RATE_LIMITED" && h.Get("Retry-After") != ""
}

func TestAnonymousRequestsAreLimitedPerAddress(t *testing.T) {
	env := apitest.New(t)
	now := time.Unix(1_800_000_000, 0)
	env.Now = func() time.Time { return now }
	withLimits(t, env, api.RequestLimits{PerAddress: throttle.Rate{PerMinute: 60, Burst: 5}})
	const q = `{ __typename }`
	for i := range 5 {
		if res, h := from(t, env, "203.0.113.7", nil, q); limited(res, h) || len(res.Errors) != 0 {
			t.Fatalf("request %d of 5 allowed: %d %s", i+1, res.Status, res.Body)
		}
	}
	// Over the budget, whatever address the client claims for itself.
	res, h := from(t, env, "203.0.113.7", map[string]string{"X-Forwarded-For": "198.51.100.9"}, q)
	if !limited(res, h) {
		t.Fatalf("the 6th request: want 429 RATE_LIMITED with Retry-After, got %d %v %s", res.Status, h, res.Body)
	}
	if res, h := from(t, env, "198.51.100.2", nil, q); limited(res, h) {
		t.Fatal("another address was limited by the flood")
	}
	// Logged-in users are not counted by their address.
	_, v := env.User(t, user.RoleAGENT, "agent.hz1")
	tok, _, _ := env.Signer.Issue(v)
	if res, h := from(t, env, "203.0.113.7", map[string]string{"Authorization": "Bearer " + tok}, `{ me { login } }`); limited(res, h) {
		t.Fatal("a user behind the flooding address was limited as anonymous")
	}
	now = now.Add(time.Second)
	if res, h := from(t, env, "203.0.113.7", nil, q); limited(res, h) {
		t.Fatal("still limited after Retry-After")
	}
}

func TestUserRequestsAreLimitedPerUser(t *testing.T) {
	env := apitest.New(t)
	env.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	withLimits(t, env, api.RequestLimits{PerUser: throttle.Rate{PerMinute: 60, Burst: 5}})
	_, a := env.User(t, user.RoleAGENT, "agent.hz1")
	_, b := env.User(t, user.RoleAGENT, "agent.hz2")
	bearer := func(v *auth.Viewer) map[string]string {
		tok, _, err := env.Signer.Issue(v)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"Authorization": "Bearer " + tok}
	}
	const q = `{ me { login } }`
	for i := range 5 {
		if res, h := from(t, env, "192.0.2.1", bearer(a), q); limited(res, h) || len(res.Errors) != 0 {
			t.Fatalf("request %d of 5 allowed: %d %s", i+1, res.Status, res.Body)
		}
	}
	// Over the budget from any address, with any of the user's tokens.
	if res, h := from(t, env, "192.0.2.99", bearer(a), q); !limited(res, h) {
		t.Fatalf("the 6th request: want 429 RATE_LIMITED with Retry-After, got %d %s", res.Status, res.Body)
	}
	if res, h := from(t, env, "192.0.2.1", bearer(b), q); limited(res, h) || len(res.Errors) != 0 {
		t.Fatalf("another user was limited: %d %s", res.Status, res.Body)
	}
	if res, h := from(t, env, "192.0.2.1", nil, `{ __typename }`); limited(res, h) {
		t.Fatal("an anonymous caller at the same address was limited")
	}
}

// Behind a trusted proxy, each client has its own budget; a client cannot
// get a new one by writing X-Forwarded-For itself.
func TestTrustedProxyNamesTheClient(t *testing.T) {
	env := apitest.New(t)
	env.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	proxies, _ := throttle.ParseProxies("10.0.0.1")
	withLimits(t, env, api.RequestLimits{PerAddress: throttle.Rate{PerMinute: 60, Burst: 2}, Proxies: proxies})
	const q = `{ __typename }`
	via := func(xff string) map[string]string { return map[string]string{"X-Forwarded-For": xff} }
	for range 2 {
		from(t, env, "10.0.0.1", via("203.0.113.7"), q)
	}
	if res, h := from(t, env, "10.0.0.1", via("6.6.6.6, 203.0.113.7"), q); !limited(res, h) {
		t.Fatalf("the client got a new budget by writing X-Forwarded-For: %d %s", res.Status, res.Body)
	}
	if res, h := from(t, env, "10.0.0.1", via("198.51.100.2"), q); limited(res, h) {
		t.Fatal("another client behind the proxy was limited")
	}
}

// A login refused for its source says when to come back, like any request
// over a limit: 429 and Retry-After.
func TestThrottledLoginAnswers429(t *testing.T) {
	env := apitest.New(t)
	env.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	env.User(t, user.RoleAGENT, "agent.hz1")
	var res *apitest.Response
	var h http.Header
	for range 10 {
		res, h = loginFrom(t, env, "203.0.113.7", "agent.hz1", "wrong-password")
	}
	if !limited(res, h) || !strings.Contains(res.Errors[0].Message, "retry in") {
		t.Fatalf("want 429 RATE_LIMITED with Retry-After, got %d %v %s", res.Status, h, res.Body)
	}
}
