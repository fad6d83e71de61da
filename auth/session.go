package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"estatecrm/apperr"
	"estatecrm/ent"
	"estatecrm/ent/refreshtoken"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
	"estatecrm/throttle"
)

var (
	errLogin   = apperr.New(apperr.Unauthenticated, "invalid login or password; after repeated failures, wait before trying again")
	errRefresh = apperr.New(apperr.Unauthenticated, "invalid or expired refresh token")
)

// Tokens are what a login or a refresh hands out.
type Tokens struct {
	AccessToken           string
	AccessTokenExpiresAt  time.Time
	RefreshToken          string
	RefreshTokenExpiresAt time.Time
	User                  *ent.User
}

// Sessions logs users in and out and rotates refresh tokens. It writes with
// its own client, not the request's transaction: a failed login must still
// count, and a replayed refresh token must still revoke its family, even
// though the request itself fails.
type Sessions struct {
	client     *ent.Client
	signer     *Signer
	refreshTTL time.Duration
	now        func() time.Time
	passwords  PasswordChecker
	logins     *throttle.Logins
}

// SessionOption changes a default of NewSessions.
type SessionOption func(*Sessions)

// WithPasswordChecker checks login passwords with c instead of a HashGate
// of DefaultHashConcurrency.
func WithPasswordChecker(c PasswordChecker) SessionOption {
	return func(s *Sessions) { s.passwords = c }
}

// WithLoginLimits throttles failed logins with l instead of
// throttle.DefaultLoginLimits.
func WithLoginLimits(l throttle.LoginLimits) SessionOption {
	return func(s *Sessions) { s.logins = throttle.NewLogins(l) }
}

// NewSessions returns the session service.
func NewSessions(client *ent.Client, signer *Signer, refreshTTL time.Duration, now func() time.Time, opts ...SessionOption) *Sessions {
	if now == nil {
		now = time.Now
	}
	s := &Sessions{client: client, signer: signer, refreshTTL: refreshTTL, now: now}
	for _, o := range opts {
		o(s)
	}
	if s.passwords == nil {
		s.passwords = NewHashGate(0)
	}
	if s.logins == nil {
		s.logins = throttle.NewLogins(throttle.DefaultLoginLimits())
	}
	return s
}

// Login checks a login and password and opens a new session.
//
// Failures slow down their source, never the account (throttle.Logins): an
// address that keeps failing on a login is answered RATE_LIMITED for a
// while, before any lookup, whether or not the login exists, and the user
// logging in from elsewhere is not held back. Every other failure (unknown
// login, wrong password, disabled user, user without a password) does the
// same work, one lookup and one password check, and gets the same answer,
// so neither the answer nor its time tells whether a login exists.
func (s *Sessions) Login(ctx context.Context, login, password string) (*Tokens, error) {
	ctx = SystemContext(ctx)
	now := s.now().UTC()
	name := normalLogin(login)
	attempt, wait := s.logins.Begin(throttle.Source(ctx), name, now)
	if attempt == nil {
		return nil, throttle.Refuse(ctx, wait)
	}
	u, ok, err := s.checkPassword(ctx, name, password)
	if errors.Is(err, ErrBusy) {
		return nil, throttle.Refuse(ctx, time.Second)
	}
	if err != nil {
		return nil, err
	}
	usable := u != nil && u.Active && u.PasswordHash != ""
	if !ok || !usable {
		attempt.Failed(now)
		return nil, errLogin
	}
	attempt.Succeeded(now)
	if u.Edges.Projects, err = u.QueryProjects().All(ctx); err != nil {
		return nil, err
	}
	return s.open(ctx, u, newFamily())
}

// checkPassword looks the login up and checks the password, during a turn
// of the password checker taken before the lookup, so that a login turned
// away for being one too many costs no query. An unusable user (unknown,
// disabled, without a password) is checked against a dummy hash: the same
// work, and never a match.
func (s *Sessions) checkPassword(ctx context.Context, name, password string) (*ent.User, bool, error) {
	release, err := s.passwords.Turn(ctx)
	if err != nil {
		return nil, false, err
	}
	defer release()
	// The projects are loaded after the password is right: a known login
	// must not cost one query more than an unknown one.
	u, err := s.client.User.Query().Where(user.Login(name)).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, false, err
	}
	hash := dummyHash()
	if u != nil && u.Active && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	ok, err := s.passwords.CheckPassword(hash, password)
	return u, ok, err
}

// Refresh trades a refresh token for a new pair. A token is good once: a
// second use means it was copied, so the whole family is revoked and the
// caller must log in again.
func (s *Sessions) Refresh(ctx context.Context, token string) (*Tokens, error) {
	ctx = SystemContext(ctx)
	now := s.now().UTC()
	rt, err := s.client.RefreshToken.Query().Where(refreshtoken.TokenHash(hashToken(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, errRefresh
	}
	if err != nil {
		return nil, err
	}
	if rt.RevokedAt != nil || rt.UsedAt != nil {
		return nil, s.revokeFamily(ctx, rt.Family, errRefresh)
	}
	if !now.Before(rt.ExpiresAt) {
		return nil, errRefresh
	}
	// Mark it used only if nobody did in between: of two concurrent refreshes
	// with one token, exactly one wins and the other is a replay.
	n, err := s.client.RefreshToken.Update().
		Where(refreshtoken.ID(rt.ID), refreshtoken.UsedAtIsNil(), refreshtoken.RevokedAtIsNil()).
		SetUsedAt(now).Save(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, s.revokeFamily(ctx, rt.Family, errRefresh)
	}
	u, err := s.client.User.Query().Where(user.ID(rt.UserID)).WithProjects().Only(ctx)
	if ent.IsNotFound(err) || (err == nil && !u.Active) {
		return nil, s.revokeFamily(ctx, rt.Family, errRefresh)
	}
	if err != nil {
		return nil, err
	}
	return s.open(ctx, u, rt.Family)
}

// Logout revokes the session the refresh token belongs to: its refresh
// tokens at once, and its access tokens, which name the session, at their
// next Revocations check (within seconds, on every process). An unknown
// token is not an error: the session is over either way.
func (s *Sessions) Logout(ctx context.Context, token string) error {
	ctx = SystemContext(ctx)
	rt, err := s.client.RefreshToken.Query().Where(refreshtoken.TokenHash(hashToken(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return s.revokeFamily(ctx, rt.Family, nil)
}

func (s *Sessions) revokeFamily(ctx context.Context, family string, then error) error {
	err := s.client.RefreshToken.Update().
		Where(refreshtoken.Family(family), refreshtoken.RevokedAtIsNil()).
		SetRevokedAt(s.now().UTC()).Exec(ctx)
	if err != nil {
		return err
	}
	return then
}

// open issues an access token and a new refresh token of the family. The
// access token names the family as its session, so that revoking the family
// (logout, a replayed refresh token, a password change) ends it too.
func (s *Sessions) open(ctx context.Context, u *ent.User, family string) (*Tokens, error) {
	v := ViewerOf(u)
	v.SessionID = family
	access, accessExp, err := s.signer.Issue(v)
	if err != nil {
		return nil, err
	}
	refresh := randomToken()
	refreshExp := s.now().UTC().Add(s.refreshTTL)
	err = s.client.RefreshToken.Create().
		SetUserID(u.ID).SetFamily(family).SetTokenHash(hashToken(refresh)).
		SetExpiresAt(refreshExp).Exec(ctx)
	if err != nil {
		return nil, err
	}
	return &Tokens{AccessToken: access, AccessTokenExpiresAt: accessExp, RefreshToken: refresh, RefreshTokenExpiresAt: refreshExp, User: u}, nil
}

// ViewerOf returns the viewer a user is; its projects must be loaded.
func ViewerOf(u *ent.User) *Viewer {
	v := &Viewer{UserID: u.ID, Role: Role(u.Role), AccessVersion: u.AccessVersion}
	if u.CustomerID != nil {
		v.CustomerID = *u.CustomerID
	}
	for _, p := range u.Edges.Projects {
		v.ProjectIDs = append(v.ProjectIDs, p.ID)
	}
	return v
}

// normalLogin matches the User hook that stores logins lower-cased.
func normalLogin(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// hashToken stores refresh tokens as SHA-256: they are 256 random bits, so
// a fast hash is enough and lookups stay an index probe.
func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func newFamily() string { return string(pulid.MustNew("RF")) }

var (
	dummyOnce sync.Once
	dummy     string
)

func dummyHash() string {
	dummyOnce.Do(func() { dummy, _ = HashPassword("no such user") })
	return dummy
}
