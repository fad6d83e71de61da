package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/golang-jwt/jwt/v5"

	"estatecrm/account"
	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
	"estatecrm/live"
)

// Close codes of graphql-transport-ws.
const (
	closeUnauthorized websocket.StatusCode = 4401
	closeForbidden    websocket.StatusCode = 4403
)

// movableClock makes env's clock one the test moves forward with the
// function it returns. It must be called before the server does anything.
func movableClock(env *apitest.Env) (forward func(time.Duration)) {
	var skew atomic.Int64
	env.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	return func(d time.Duration) { skew.Add(int64(d)) }
}

// pastTTL is how far a test moves the clock for every process to have
// forgotten what it knew before a revocation.
const pastTTL = auth.DefaultRevocationTTL + time.Second

// subscribed starts a subscription to p's unit changes on s and waits until
// the server has registered it.
func subscribed(t *testing.T, s *socket, hub *live.Hub, p pulid.ID) {
	t.Helper()
	before := hub.Subscribers(p)
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": gridSubscription, "variables": map[string]any{"p": p}}})
	for deadline := time.Now().Add(10 * time.Second); hub.Subscribers(p) == before; {
		if time.Now().After(deadline) {
			t.Fatal("the subscription was not registered")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// subscribedWith opens a socket to env's server with the access token and
// subscribes it to p's unit changes.
func subscribedWith(t *testing.T, env *apitest.Env, token string, p pulid.ID) *socket {
	t.Helper()
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	ws, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + token})
	if err != nil {
		t.Fatal(err)
	}
	subscribed(t, ws, env.Hub, p)
	return ws
}

// closedWith reads s until the server closes it (the socket's context bounds
// the wait) and returns the close code.
func closedWith(s *socket) websocket.StatusCode {
	for {
		if _, err := s.read(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// dialRefused opens a socket whose connection_init the server must refuse,
// and returns the close code it sent.
func dialRefused(t *testing.T, url string, payload map[string]any) websocket.StatusCode {
	t.Helper()
	_, err := dial(t, url, payload)
	if err == nil {
		t.Fatalf("connection_init with %v was acknowledged", payload)
	}
	return websocket.CloseStatus(err)
}

const meQuery = `{ me { login } }`

func works(t *testing.T, c *apitest.Caller, what string) {
	t.Helper()
	if res := c.Query(t, meQuery, nil); res.Status != http.StatusOK || len(res.Errors) != 0 {
		t.Fatalf("%s: want an answer, got %d %s", what, res.Status, res.Body)
	}
}

func unauthenticated(t *testing.T, c *apitest.Caller, what string) {
	t.Helper()
	res := c.Query(t, meQuery, nil)
	if e := res.OnlyError(t); res.Status != http.StatusUnauthorized || e.Code() != "UNAUTHENTICATED" || e.Message != auth.ErrInvalidToken.Error() {
		t.Fatalf("%s: want 401 UNAUTHENTICATED %q, got %d %s", what, auth.ErrInvalidToken, res.Status, res.Body)
	}
}

// Deactivation, logout and a password change end the access tokens of the
// sessions they end, over HTTP and on an open WebSocket, within the
// revocation TTL, whichever process the token is used on.
func TestRevocationEndsAccessTokens(t *testing.T) {
	const logout = `mutation($r: String!) { logout(input: {refreshToken: $r}) { ok } }`
	const change = `mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: "brand-new-pass"}) { user { id } } }`
	for _, tc := range []struct {
		name string
		// revoke ends the session s (other is another session of the same
		// user) and returns the session that must live on, if any.
		revoke func(t *testing.T, env *apitest.Env, u *ent.User, s, other authPayload) *authPayload
	}{
		{"deactivate", func(t *testing.T, env *apitest.Env, u *ent.User, _, _ authPayload) *authPayload {
			env.Query(t, `mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { user { active } } }`,
				map[string]any{"id": u.ID}).Decode(t, &struct{}{})
			return nil
		}},
		{"logout", func(t *testing.T, env *apitest.Env, _ *ent.User, s, other authPayload) *authPayload {
			env.Anonymous().Query(t, logout, map[string]any{"r": s.RefreshToken}).Decode(t, &struct{}{})
			return &other // logging out of one device leaves the other signed in
		}},
		{"password change", func(t *testing.T, env *apitest.Env, _ *ent.User, _, other authPayload) *authPayload {
			bearer(env, other.AccessToken).Query(t, change, map[string]any{"c": apitest.Password}).Decode(t, &struct{}{})
			return &other // the session that changed it goes on
		}},
		{"password reset by an admin", func(t *testing.T, env *apitest.Env, u *ent.User, _, _ authPayload) *authPayload {
			env.Query(t, `mutation($id: ID!) { resetUserPassword(input: {id: $id, password: "brand-new-pass"}) { user { id } } }`,
				map[string]any{"id": u.ID}).Decode(t, &struct{}{})
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := apitest.New(t)
			forward := movableClock(env)
			p := env.Project(t, "滨江·云玺", 1, 1, 1)
			u, _ := env.User(t, user.RoleAGENT, "agent.hz1", p)
			s, other := loggedIn(t, env, "agent.hz1"), loggedIn(t, env, "agent.hz1")
			ws := subscribedWith(t, env, s.AccessToken, p.ID)
			works(t, bearer(env, s.AccessToken), "before")

			lives := tc.revoke(t, env, u, s, other)
			forward(pastTTL)

			unauthenticated(t, bearer(env, s.AccessToken), "after")
			if code := closedWith(ws); code != closeUnauthorized {
				t.Fatalf("the subscription's socket closed with %d, want %d", code, closeUnauthorized)
			}
			if e := refresh(t, env, s.RefreshToken).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
				t.Fatalf("the ended session refreshed: %+v", e)
			}
			if lives != nil {
				works(t, bearer(env, lives.AccessToken), "the session that should live on")
			}
		})
	}
}

// A revocation made through one process is seen by another, which shares
// only the database with it (no message goes between them).
func TestRevocationIsSeenByEveryProcess(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("two server processes share a PostgreSQL database; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	forwardA := movableClock(a)
	b := a.Second(t)
	forwardB := movableClock(b)
	p := a.Project(t, "滨江·云玺", 1, 1, 1)
	a.User(t, user.RoleAGENT, "agent.hz1", p)
	s := loggedIn(t, a, "agent.hz1")
	works(t, bearer(b, s.AccessToken), "before, on B") // B now holds "good" in its cache
	srvB := httptest.NewServer(b.Handler)
	t.Cleanup(srvB.Close)
	ws, err := dial(t, srvB.URL, map[string]any{"Authorization": "Bearer " + s.AccessToken})
	if err != nil {
		t.Fatal(err)
	}
	subscribed(t, ws, b.Hub, p.ID)

	a.Anonymous().Query(t, `mutation($r: String!) { logout(input: {refreshToken: $r}) { ok } }`,
		map[string]any{"r": s.RefreshToken}).Decode(t, &struct{}{})
	forwardA(pastTTL)
	forwardB(pastTTL)
	unauthenticated(t, bearer(b, s.AccessToken), "on B")
	if code := closedWith(ws); code != closeUnauthorized {
		t.Fatalf("B's socket closed with %d, want %d", code, closeUnauthorized)
	}
}

// A portal's open subscription ends when its key is revoked.
func TestRevokedAPIKeyEndsItsSubscription(t *testing.T) {
	env := apitest.New(t)
	forward := movableClock(env)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	var created struct {
		CreateAPIKey struct {
			Key    string
			APIKey struct{ ID string }
		}
	}
	env.Query(t, `mutation { createAPIKey(input: {name: "portal"}) { key apiKey { id } } }`, nil).Decode(t, &created)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	ws, err := dial(t, srv.URL, map[string]any{"X-API-Key": created.CreateAPIKey.Key})
	if err != nil {
		t.Fatal(err)
	}
	subscribed(t, ws, env.Hub, p.ID)

	env.Query(t, `mutation($id: ID!) { revokeAPIKey(input: {id: $id}) { apiKey { active } } }`,
		map[string]any{"id": created.CreateAPIKey.APIKey.ID}).Decode(t, &struct{}{})
	forward(pastTTL)
	if code := closedWith(ws); code != closeUnauthorized {
		t.Fatalf("the portal's socket closed with %d, want %d", code, closeUnauthorized)
	}
	if code := dialRefused(t, srv.URL, map[string]any{"X-API-Key": created.CreateAPIKey.Key}); code != closeUnauthorized {
		t.Fatalf("a revoked key's connection_init closed with %d, want %d", code, closeUnauthorized)
	}
}

// A refused connection_init closes with the graphql-transport-ws code that
// says why: 4401 for missing, bad or revoked credentials, 4403 for a key
// that is good but over its rate limit.
func TestRefusedSocketInitCloseCodes(t *testing.T) {
	env := apitest.New(t)
	forward := movableClock(env)
	off, _ := env.User(t, user.RoleAGENT, "agent.off")
	s := loggedIn(t, env, "agent.off")
	var created struct{ CreateAPIKey struct{ Key string } }
	env.Query(t, `mutation { createAPIKey(input: {name: "slow portal", rateLimitPerMinute: 1}) { key } }`, nil).Decode(t, &created)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)

	if _, err := dial(t, srv.URL, map[string]any{"X-API-Key": created.CreateAPIKey.Key}); err != nil {
		t.Fatalf("the key's first connection was refused: %v", err) // the whole budget of a minute
	}
	if code := dialRefused(t, srv.URL, map[string]any{"X-API-Key": created.CreateAPIKey.Key}); code != closeForbidden {
		t.Fatalf("a key over its rate limit closed with %d, want %d", code, closeForbidden)
	}
	env.Client.User.UpdateOne(off).SetActive(false).ExecX(apitest.System())
	forward(pastTTL)
	for name, payload := range map[string]map[string]any{
		"no credentials":   {},
		"forged token":     {"Authorization": "Bearer forged"},
		"not a bearer":     {"Authorization": s.AccessToken},
		"unknown key":      {"X-API-Key": "ek_0123456789abcdef_nosuchkey"},
		"disabled user":    {"Authorization": "Bearer " + s.AccessToken},
		"ten-year token":   {"Authorization": "Bearer " + signed(t, env, off.ID, 0, 10*365*24*time.Hour)},
		"issued in future": {"Authorization": "Bearer " + signed(t, env, off.ID, time.Hour, 10*time.Minute)},
	} {
		if code := dialRefused(t, srv.URL, payload); code != closeUnauthorized {
			t.Errorf("%s: closed with %d, want %d", name, code, closeUnauthorized)
		}
	}
}

// A connection whose token runs out closes with 4401: the client should
// refresh and reconnect.
func TestSocketClosesWithUnauthorizedWhenTheTokenExpires(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	_, v := env.User(t, user.RoleAGENT, "agent.hz1", p)
	// Long enough for the subscription to register on a loaded machine (a
	// CI run once took over a second between connection_init and the
	// subscription, and the socket had closed before it registered).
	short, err := auth.NewSigner(apitest.Key, 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := short.Issue(v)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	ws, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribed(t, ws, env.Hub, p.ID)
	if code := closedWith(ws); code != closeUnauthorized {
		t.Fatalf("closed with %d, want %d", code, closeUnauthorized)
	}
}

// signed returns an access token for user id, correctly signed with the
// deployment's key, issued at now+issued and living life.
func signed(t *testing.T, env *apitest.Env, id pulid.ID, issued, life time.Duration) string {
	t.Helper()
	iat := env.Now().Add(issued)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": auth.Issuer, "aud": auth.Audience, "sub": string(id), "typ": "access", "role": "AGENT",
		"iat": iat.Unix(), "nbf": env.Now().Unix(), "exp": iat.Add(life).Unix(),
	}).SignedString(apitest.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A token lives no longer than the signer's lifetime, however it was signed.
func TestTokenLifeIsCappedAtTheTTL(t *testing.T) {
	env := apitest.New(t)
	u, _ := env.User(t, user.RoleAGENT, "agent.hz1")
	works(t, bearer(env, signed(t, env, u.ID, 0, 15*time.Minute)), "a token of the configured lifetime")
	for name, tok := range map[string]string{
		"ten years":                              signed(t, env, u.ID, 0, 10*365*24*time.Hour),
		"a minute too long":                      signed(t, env, u.ID, 0, 16*time.Minute),
		"issued in an hour":                      signed(t, env, u.ID, time.Hour, 10*time.Minute),
		"issued long ago, expiring in ten years": signed(t, env, u.ID, -time.Hour, 10*365*24*time.Hour),
	} {
		unauthenticated(t, bearer(env, tok), name)
	}
	noIat := must(jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": auth.Issuer, "aud": auth.Audience, "sub": string(u.ID), "typ": "access", "role": "AGENT",
		"exp": time.Now().Add(10 * time.Minute).Unix(),
	}).SignedString(apitest.Key))
	unauthenticated(t, bearer(env, noIat), "no issued-at")
}

// A busy user costs one revocation query per TTL, not one per request.
func TestRevocationChecksAreCached(t *testing.T) {
	env := apitest.New(t)
	forward := movableClock(env)
	env.User(t, user.RoleAGENT, "agent.hz1")
	s := loggedIn(t, env, "agent.hz1")
	me := bearer(env, s.AccessToken)
	env.Checks.Reset()
	for range 20 {
		works(t, me, "a request")
	}
	if n := env.Checks.Count(); n != 1 {
		t.Fatalf("20 requests within the TTL ran %d revocation queries, want 1", n)
	}
	forward(pastTTL)
	works(t, me, "a request after the TTL")
	if n := env.Checks.Count(); n != 2 {
		t.Fatalf("a request after the TTL ran %d revocation queries in all, want 2", n)
	}
}

// failingDriver is a database whose queries fail while fail is set.
type failingDriver struct {
	dialect.Driver
	fail atomic.Bool
}

func (d *failingDriver) Query(ctx context.Context, query string, args, v any) error {
	if d.fail.Load() {
		return errors.New("connection refused")
	}
	return d.Driver.Query(ctx, query, args, v)
}

// When the database cannot say whether a token was revoked, the caller is
// told to retry (503 UNAVAILABLE, WebSocket 1013), not to sign in again.
func TestUncheckableCredentialsAreNotRefused(t *testing.T) {
	env := apitest.New(t)
	env.User(t, user.RoleAGENT, "agent.hz1")
	s := loggedIn(t, env, "agent.hz1")
	limit := 1000
	key, err := account.CreateAPIKey(apitest.System(), env.Client, account.NewAPIKey{Name: "portal", RateLimitPerMinute: &limit})
	if err != nil {
		t.Fatal(err)
	}
	drv := &failingDriver{Driver: env.DB.Driver}
	h := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.DiscardHandler), Signer: env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, nil), APIKeys: auth.NewAPIKeys(database.NewClient(drv), nil),
		Hub: env.Hub, Photos: env.Photos, Revoked: auth.NewRevocations(database.NewClient(drv), 0, nil),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	post := func(header ...string) *http.Response {
		if len(header) == 0 {
			header = []string{"Authorization", "Bearer " + s.AccessToken}
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/query", strings.NewReader(`{"query":"{ projects(first: 1) { totalCount } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(header[0], header[1])
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}

	drv.fail.Store(true)
	if res := post(); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("with the database away: %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// A portal's key too: "invalid API key" would tell it to stop using a good key.
	if res := post("X-API-Key", key.Key); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("an API key with the database away: %d (Retry-After %q), want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if code := dialRefused(t, srv.URL, map[string]any{"Authorization": "Bearer " + s.AccessToken}); code != websocket.StatusTryAgainLater {
		t.Fatalf("a socket with the database away closed with %d, want %d", code, websocket.StatusTryAgainLater)
	}
	drv.fail.Store(false)
	if res := post(); res.StatusCode != http.StatusOK {
		t.Fatalf("with the database back: %d", res.StatusCode)
	}
	if res := post("X-API-Key", key.Key); res.StatusCode != http.StatusOK {
		t.Fatalf("an API key with the database back: %d", res.StatusCode)
	}
}
