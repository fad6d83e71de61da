package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
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

func TestLoginFailuresLookAlikeAndLockTheAccount(t *testing.T) {
	env := apitest.New(t)
	now := time.Now()
	env.Now = func() time.Time { return now }
	u, _ := env.User(t, user.RoleAGENT, "agent.hz1")
	env.User(t, user.RoleAGENT, "agent.off")
	env.Client.User.Update().Where(user.Login("agent.off")).SetActive(false).ExecX(apitest.System())

	unknown := login(t, env, "nobody", "whatever-password").OnlyError(t)
	wrong := login(t, env, "agent.hz1", "wrong-password").OnlyError(t)
	disabled := login(t, env, "agent.off", apitest.Password).OnlyError(t)
	for _, e := range []apitest.Error{unknown, wrong, disabled} {
		if e.Code() != "UNAUTHENTICATED" || e.Message != unknown.Message {
			t.Fatalf("login failures must look alike: %+v vs %+v", e, unknown)
		}
	}
	for range 4 { // 5 failures in a row in all
		login(t, env, "agent.hz1", "wrong-password")
	}
	if e := login(t, env, "agent.hz1", apitest.Password).OnlyError(t); e.Message != unknown.Message {
		t.Fatalf("a locked account let the right password in, or said more: %+v", e)
	}
	now = now.Add(61 * time.Second) // the first lock lasts a minute
	if s := loggedIn(t, env, "agent.hz1"); s.AccessToken == "" {
		t.Fatal("the right password after the lock was refused")
	}
	if got := env.Client.User.GetX(apitest.System(), u.ID); got.FailedLogins != 0 || got.LockedUntil != nil {
		t.Fatalf("a successful login did not reset the counter: %d %v", got.FailedLogins, got.LockedUntil)
	}
	// A failure after the lock has run out locks again, twice as long.
	for range 5 {
		login(t, env, "agent.hz1", "wrong-password")
	}
	now = now.Add(61 * time.Second)
	login(t, env, "agent.hz1", "wrong-password") // the 6th failure in a row
	now = now.Add(61 * time.Second)
	if e := login(t, env, "agent.hz1", apitest.Password); len(e.Errors) == 0 {
		t.Fatal("the 6th failure in a row must lock for two minutes, not one")
	}
	now = now.Add(61 * time.Second)
	if res := login(t, env, "agent.hz1", apitest.Password); len(res.Errors) != 0 {
		t.Fatalf("still locked after two minutes: %s", res.Body)
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
