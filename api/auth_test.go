package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/ent/auditevent"
	"estatecrm/ent/user"
)

const loginMutation = `mutation($l: String!, $p: String!) {
  login(input: {login: $l, password: $p}) { accessToken refreshToken accessTokenExpiresAt user { login role } }
}`

const refreshMutation = `mutation($r: String!) { refreshToken(input: {refreshToken: $r}) { accessToken refreshToken } }`

type authPayload struct {
	AccessToken, RefreshToken, AccessTokenExpiresAt string
	User                                            struct{ Login, Role string }
}

func login(t *testing.T, env *apitest.Env, login, password string) *apitest.Response {
	t.Helper()
	return env.Anonymous().Query(t, loginMutation, map[string]any{"l": login, "p": password})
}

func loggedIn(t *testing.T, env *apitest.Env, l string) authPayload {
	t.Helper()
	var out struct{ Login authPayload }
	login(t, env, l, apitest.Password).Decode(t, &out)
	return out.Login
}

func refresh(t *testing.T, env *apitest.Env, token string) *apitest.Response {
	t.Helper()
	return env.Anonymous().Query(t, refreshMutation, map[string]any{"r": token})
}

func bearer(env *apitest.Env, token string) *apitest.Caller {
	return env.WithHeader("Authorization", "Bearer "+token)
}

func TestLoginThenQuery(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	env.User(t, user.RoleAGENT, "agent.hz1", p)

	s := loggedIn(t, env, " Agent.HZ1 ")
	if s.AccessToken == "" || s.RefreshToken == "" || s.User.Role != "AGENT" {
		t.Fatalf("login = %+v", s)
	}
	exp, err := time.Parse(time.RFC3339, s.AccessTokenExpiresAt)
	if err != nil || exp.After(time.Now().Add(15*time.Minute+time.Second)) {
		t.Fatalf("an access token must live at most 15 minutes, expires %q", s.AccessTokenExpiresAt)
	}
	var units struct{ Units struct{ TotalCount int } }
	bearer(env, s.AccessToken).Query(t, `{ units(first: 10) { totalCount } }`, nil).Decode(t, &units)
	if units.Units.TotalCount != 2 {
		t.Fatalf("the agent sees %d units of their project, want 2", units.Units.TotalCount)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	env := apitest.New(t)
	env.User(t, user.RoleAGENT, "agent.hz1")
	env.User(t, user.RoleAGENT, "agent.off")
	env.Client.User.Update().Where(user.Login("agent.off")).SetActive(false).ExecX(apitest.System())

	unknown := login(t, env, "nobody", "whatever-password").OnlyError(t)
	wrong := login(t, env, "agent.hz1", "wrong-password").OnlyError(t)
	disabled := login(t, env, "agent.off", apitest.Password).OnlyError(t)
	noPassword := login(t, env, "test.admin", "whatever-password").OnlyError(t) // a user without a password
	for _, e := range []apitest.Error{unknown, wrong, disabled, noPassword} {
		if e.Code() != "UNAUTHENTICATED" || e.Message != unknown.Message {
			t.Fatalf("login failures must look alike: %+v vs %+v", e, unknown)
		}
	}
}

// loginFrom logs in from a client address and returns the answer with its
// headers.
func loginFrom(t *testing.T, env *apitest.Env, addr, login, password string) (*apitest.Response, http.Header) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": loginMutation, "variables": map[string]any{"l": login, "p": password}})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = net.JoinHostPort(addr, "40000")
	rec := httptest.NewRecorder()
	env.Handler.ServeHTTP(rec, req)
	res := &apitest.Response{Status: rec.Code, Body: rec.Body.Bytes()}
	if err := json.Unmarshal(res.Body, res); err != nil {
		t.Fatalf("not JSON: %s", res.Body)
	}
	return res, rec.Header()
}

// Someone who knows a login, even an admin's, cannot shut its owner out by
// failing on purpose: the guessing address is slowed down (429
// RATE_LIMITED with Retry-After), the account is not, and the owner logs in
// from elsewhere.
func TestLoginGuessingSlowsTheSourceNotTheAccount(t *testing.T) {
	env := apitest.New(t)
	now := time.Now()
	env.Now = func() time.Time { return now }
	env.User(t, user.RoleADMIN, "root")
	const attacker, owner = "203.0.113.7", "198.51.100.2"

	var limited int
	var retry string
	for range 20 {
		res, h := loginFrom(t, env, attacker, "root", "guess-password")
		if len(res.Errors) == 0 {
			t.Fatal("a wrong password got in")
		}
		if res.Errors[0].Code() == "RATE_LIMITED" {
			if res.Status != http.StatusTooManyRequests || h.Get("Retry-After") == "" {
				t.Fatalf("RATE_LIMITED without 429 and Retry-After: %d %v", res.Status, h)
			}
			limited++
			retry = h.Get("Retry-After")
		}
	}
	if limited == 0 {
		t.Fatal("20 wrong passwords in a row from one address were never slowed down")
	}
	// The attacker's address is held back even with the right password...
	if res, _ := loginFrom(t, env, attacker, "root", apitest.Password); len(res.Errors) == 0 || res.Errors[0].Code() != "RATE_LIMITED" {
		t.Fatalf("the guessing address should be RATE_LIMITED: %s", res.Body)
	}
	// ...the owner, from their own address, is not.
	if res, _ := loginFrom(t, env, owner, "root", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("the owner was shut out by someone else's guesses: %s", res.Body)
	}
	// An unknown login gets the same treatment from the same kind of
	// source: being slowed down says nothing about which logins exist.
	for range 20 {
		res, _ := loginFrom(t, env, "203.0.113.8", "nobody.here", "guess-password")
		if len(res.Errors) == 0 {
			t.Fatal("an unknown login got in")
		}
		if res.Errors[0].Code() == "RATE_LIMITED" {
			limited--
		}
	}
	if limited != 0 {
		t.Fatalf("an unknown login is slowed down differently from a known one (%d more answers RATE_LIMITED)", limited)
	}
	// When the wait is over, the address may try again.
	wait, err := strconv.Atoi(retry)
	if err != nil || wait <= 0 {
		t.Fatalf("Retry-After %q is not a number of seconds", retry)
	}
	now = now.Add(time.Duration(wait) * time.Second)
	if res, _ := loginFrom(t, env, attacker, "root", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("still held back after Retry-After: %s", res.Body)
	}
}

// One address trying many logins is slowed down, whichever logins; another
// address is not.
func TestLoginGuessingManyAccountsFromOneAddress(t *testing.T) {
	env := apitest.New(t)
	env.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	env.User(t, user.RoleAGENT, "agent.hz1")
	limited := false
	for i := range 60 {
		res, h := loginFrom(t, env, "203.0.113.7", fmt.Sprintf("user.%d", i), "guess-password")
		if len(res.Errors) > 0 && res.Errors[0].Code() == "RATE_LIMITED" && h.Get("Retry-After") != "" {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("60 failures on 60 logins from one address were never slowed down")
	}
	if res, _ := loginFrom(t, env, "198.51.100.2", "agent.hz1", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("another address was held back: %s", res.Body)
	}
}

// Many addresses guessing one login are slowed down together; the user, from
// an address they logged in from before, is not.
func TestLoginGuessingOneAccountFromManyAddresses(t *testing.T) {
	env := apitest.New(t)
	env.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	env.User(t, user.RoleAGENT, "agent.hz1")
	const home = "198.51.100.2"
	if res, _ := loginFrom(t, env, home, "agent.hz1", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("login: %s", res.Body)
	}
	limited := false
	for i := range 300 {
		res, _ := loginFrom(t, env, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), "agent.hz1", "guess-password")
		if len(res.Errors) > 0 && res.Errors[0].Code() == "RATE_LIMITED" {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("300 failures on one login from 300 addresses were never slowed down")
	}
	if res, _ := loginFrom(t, env, home, "agent.hz1", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("the user was shut out at an address they logged in from before: %s", res.Body)
	}
}

func TestRefreshRotatesAndReuseRevokesTheFamily(t *testing.T) {
	env := apitest.New(t)
	env.User(t, user.RoleMANAGER, "manager.hz")
	s := loggedIn(t, env, "manager.hz")

	var r1 struct{ RefreshToken authPayload }
	refresh(t, env, s.RefreshToken).Decode(t, &r1)
	if r1.RefreshToken.RefreshToken == "" || r1.RefreshToken.RefreshToken == s.RefreshToken {
		t.Fatalf("refresh did not rotate the token: %+v", r1)
	}
	// The old token again: a replay. It fails, and so does the new one now.
	if e := refresh(t, env, s.RefreshToken).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
		t.Fatalf("a used refresh token: %+v", e)
	}
	if e := refresh(t, env, r1.RefreshToken.RefreshToken).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
		t.Fatalf("the family of a replayed token must be revoked: %+v", e)
	}
	// A new login is a new family, untouched.
	s2 := loggedIn(t, env, "manager.hz")
	if res := refresh(t, env, s2.RefreshToken); len(res.Errors) != 0 {
		t.Fatalf("a fresh session was revoked too: %s", res.Body)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	env := apitest.New(t)
	env.User(t, user.RoleAGENT, "agent.hz1")
	s := loggedIn(t, env, "agent.hz1")
	var out struct{ Logout struct{ Ok bool } }
	env.Anonymous().Query(t, `mutation($r: String!) { logout(input: {refreshToken: $r}) { ok } }`, map[string]any{"r": s.RefreshToken}).Decode(t, &out)
	if !out.Logout.Ok {
		t.Fatal("logout failed")
	}
	if e := refresh(t, env, s.RefreshToken).OnlyError(t); e.Code() != "UNAUTHENTICATED" {
		t.Fatalf("refresh after logout: %+v", e)
	}
}

func TestDisabledOrDeletedUserCannotRefresh(t *testing.T) {
	env := apitest.New(t)
	off, _ := env.User(t, user.RoleAGENT, "agent.off")
	gone, _ := env.User(t, user.RoleAGENT, "agent.gone")
	sOff, sGone := loggedIn(t, env, "agent.off"), loggedIn(t, env, "agent.gone")

	var out struct {
		UpdateUser struct{ User struct{ Active bool } }
	}
	env.Query(t, `mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { user { active } } }`, map[string]any{"id": off.ID}).Decode(t, &out)
	env.Client.User.DeleteOneID(gone.ID).ExecX(apitest.System())

	for name, s := range map[string]authPayload{"disabled": sOff, "deleted": sGone} {
		if e := refresh(t, env, s.RefreshToken).OnlyError(t); e.Code() != "UNAUTHENTICATED" || strings.Contains(e.Message, "disabled") {
			t.Fatalf("%s user refreshed, or the error says why: %+v", name, e)
		}
	}
}

// Every forged, stale or misused token gets the same 401 and no detail.
func TestJWTAttacks(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	u, v := env.User(t, user.RoleAGENT, "agent.hz1", p)
	s := loggedIn(t, env, "agent.hz1")
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&rsaKey.PublicKey))})

	now := time.Now()
	claims := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"iss": auth.Issuer, "aud": auth.Audience, "sub": string(u.ID), "typ": "access", "role": "ADMIN",
			"prj": []string{string(p.ID)}, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		}
		if mod != nil {
			mod(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	none := func() string {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodNone, claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
		return tok
	}
	good := sign(jwt.SigningMethodHS256, apitest.Key, claims(nil))
	if res := bearer(env, good).Query(t, `{ me { login } }`, nil); len(res.Errors) != 0 {
		t.Fatalf("the control token was refused: %s", res.Body)
	}
	_ = v
	for name, tok := range map[string]string{
		"alg none":                  none(),
		"HS256 with the public key": sign(jwt.SigningMethodHS256, pubPEM, claims(nil)),
		"RS256":                     sign(jwt.SigningMethodRS256, rsaKey, claims(nil)),
		"guessed secret":            sign(jwt.SigningMethodHS256, []byte("secret"), claims(nil)),
		"wrong key":                 sign(jwt.SigningMethodHS256, []byte(strings.Repeat("k", 40)), claims(nil)),
		"expired":                   sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Hour).Unix() })),
		"no exp":                    sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { delete(c, "exp") })),
		"wrong iss":                 sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { c["iss"] = "evil" })),
		"wrong aud":                 sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { c["aud"] = "other-api" })),
		"no type":                   sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { delete(c, "typ") })),
		"refresh-typed":             sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { c["typ"] = "refresh" })),
		"unknown role":              sign(jwt.SigningMethodHS256, apitest.Key, claims(func(c jwt.MapClaims) { c["role"] = "SYSTEM" })),
		"refresh token":             s.RefreshToken,
		"garbage":                   "not.a.token",
		"tampered":                  s.AccessToken[:len(s.AccessToken)-3] + "abc",
	} {
		t.Run(name, func(t *testing.T) {
			res := bearer(env, tok).Query(t, `{ me { login } }`, nil)
			e := res.OnlyError(t)
			if res.Status != http.StatusUnauthorized || e.Code() != "UNAUTHENTICATED" || e.Message != auth.ErrInvalidToken.Error() {
				t.Fatalf("want 401 UNAUTHENTICATED %q, got %d %s", auth.ErrInvalidToken, res.Status, res.Body)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestAPIKeys(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 2, 2)
	var created struct {
		CreateAPIKey struct {
			Key    string
			APIKey struct {
				ID, Name string
				Active   bool
			}
		}
	}
	env.Query(t, `mutation { createAPIKey(input: {name: "安居客", rateLimitPerMinute: 6}) { key apiKey { id name active } } }`, nil).Decode(t, &created)
	key := created.CreateAPIKey.Key
	if !strings.HasPrefix(key, "ek_") || !created.CreateAPIKey.APIKey.Active {
		t.Fatalf("created %+v", created)
	}
	stored := env.Client.APIKey.Query().OnlyX(apitest.System())
	if strings.Contains(stored.SecretHash, key) || stored.SecretHash == key {
		t.Fatal("the key is stored in the clear")
	}
	portal := env.WithHeader("X-API-Key", key)
	var out struct {
		Projects struct {
			Edges []struct{ Node struct{ ID string } }
		}
		Me *struct{ Login string }
	}
	portal.Query(t, `{ projects(first: 5) { edges { node { id } } } me { login } }`, nil).Decode(t, &out)
	if len(out.Projects.Edges) != 1 || out.Projects.Edges[0].Node.ID != string(p.ID) || out.Me != nil {
		t.Fatalf("the portal should see the published project and no user: %+v", out)
	}
	if got := env.Client.APIKey.Query().OnlyX(apitest.System()); got.LastUsedAt == nil {
		t.Fatal("last use not recorded")
	}
	// 6 a minute allows no burst: the next request at once is over the limit.
	res := portal.Query(t, `{ projects(first: 1) { totalCount } }`, nil)
	if res.Status != http.StatusTooManyRequests || res.OnlyError(t).Code() != "RATE_LIMITED" {
		t.Fatalf("want 429 RATE_LIMITED, got %d %s", res.Status, res.Body)
	}

	for name, k := range map[string]string{"wrong secret": key[:len(key)-4] + "AAAA", "malformed": "hello"} {
		if res := env.WithHeader("X-API-Key", k).Query(t, `{ projects(first: 1) { totalCount } }`, nil); res.Status != http.StatusUnauthorized || res.OnlyError(t).Code() != "UNAUTHENTICATED" {
			t.Fatalf("%s: want 401, got %d %s", name, res.Status, res.Body)
		}
	}
	env.Query(t, `mutation($id: ID!) { revokeAPIKey(input: {id: $id}) { apiKey { active } } }`, map[string]any{"id": created.CreateAPIKey.APIKey.ID})
	if res := portal.Query(t, `{ projects(first: 1) { totalCount } }`, nil); res.Status != http.StatusUnauthorized {
		t.Fatalf("a revoked key still works: %d %s", res.Status, res.Body)
	}
}

func TestUserChangesAreAudited(t *testing.T) {
	env := apitest.New(t)
	a := env.Project(t, "滨江·云玺", 1, 1, 1)
	b := env.Project(t, "前海·天汇", 1, 1, 1)
	admin, adminV := env.User(t, user.RoleADMIN, "root")
	var created struct {
		CreateUser struct {
			User struct{ ID, Login, Role string }
		}
	}
	env.As(t, adminV).Query(t, `mutation($p: [ID!]) { createUser(input: {name: "陈思远", login: "Agent.New", password: "long-enough-1", role: AGENT, projectIds: $p}) { user { id login role } } }`,
		map[string]any{"p": []string{string(a.ID)}}).Decode(t, &created)
	id := created.CreateUser.User.ID
	if created.CreateUser.User.Login != "agent.new" {
		t.Fatalf("created %+v", created)
	}
	env.As(t, adminV).Query(t, `mutation($id: ID!, $p: [ID!]) { updateUser(input: {id: $id, role: MANAGER, projectIds: $p}) { user { role } } }`,
		map[string]any{"id": id, "p": []string{string(b.ID)}}).Decode(t, &struct{}{})
	env.As(t, adminV).Query(t, `mutation($id: ID!) { resetUserPassword(input: {id: $id, password: "another-long-1"}) { user { id } } }`,
		map[string]any{"id": id}).Decode(t, &struct{}{})

	events := env.Client.AuditEvent.Query().Where(auditevent.ObjectID(id)).AllX(apitest.System())
	got := map[string]bool{}
	for _, e := range events {
		if e.ActorID == nil || *e.ActorID != admin.ID {
			t.Fatalf("audit event %s without the acting admin", e.Action)
		}
		got[e.Action] = true
	}
	for _, want := range []string{"user.create", "user.projects.change", "user.role.change", "user.password.change"} {
		if !got[want] {
			t.Fatalf("no %s audit event; got %v", want, got)
		}
	}
	// The new manager of B logs in with the reset password and sees B only.
	var s struct{ Login authPayload }
	login(t, env, "agent.new", "another-long-1").Decode(t, &s)
	var ps struct {
		Projects struct {
			Edges []struct{ Node struct{ Name string } }
		}
	}
	bearer(env, s.Login.AccessToken).Query(t, `{ projects(first: 5) { edges { node { name } } } }`, nil).Decode(t, &ps)
	if len(ps.Projects.Edges) != 1 || ps.Projects.Edges[0].Node.Name != "前海·天汇" {
		t.Fatalf("the reassigned manager sees %+v", ps)
	}
}

func TestChangeOwnPassword(t *testing.T) {
	env := apitest.New(t)
	u, v := env.User(t, user.RoleAGENT, "agent.hz1")
	me := env.As(t, v)
	if e := me.Query(t, `mutation { changePassword(input: {currentPassword: "wrong-one!", newPassword: "brand-new-pass"}) { user { id } } }`, nil).OnlyError(t); e.Code() != "BAD_USER_INPUT" || e.Field() != "input.currentPassword" {
		t.Fatalf("a wrong current password: %+v", e)
	}
	if e := me.Query(t, `mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: "short"}) { user { id } } }`, map[string]any{"c": apitest.Password}).OnlyError(t); e.Field() != "input.newPassword" {
		t.Fatalf("a too-short password: %+v", e)
	}
	me.Query(t, `mutation($c: String!) { changePassword(input: {currentPassword: $c, newPassword: "brand-new-pass"}) { user { id } } }`, map[string]any{"c": apitest.Password}).Decode(t, &struct{}{})
	if res := login(t, env, "agent.hz1", "brand-new-pass"); len(res.Errors) != 0 {
		t.Fatalf("the new password does not work: %s", res.Body)
	}
	if n := env.Client.AuditEvent.Query().Where(auditevent.ObjectID(string(u.ID)), auditevent.Action("user.password.change")).CountX(apitest.System()); n != 1 {
		t.Fatalf("%d password-change audit events, want 1", n)
	}
	// Changing anything else of oneself is an admin's job.
	if e := me.Query(t, `mutation($id: ID!) { updateUser(input: {id: $id, role: ADMIN}) { user { role } } }`, map[string]any{"id": u.ID}).OnlyError(t); e.Code() != "FORBIDDEN" {
		t.Fatalf("an agent made themself admin: %+v", e)
	}
	if got := env.Client.User.GetX(apitest.System(), u.ID); got.Role != user.RoleAGENT {
		t.Fatalf("role changed to %s", got.Role)
	}
}
