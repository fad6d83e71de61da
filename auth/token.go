package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"estatecrm/ent/schema/pulid"
)

// Token settings. The access token is short-lived and carries what the
// privacy rules need (role, projects, customer), so serving a request reads
// no user row; its session id lets a Revocations check end it within
// seconds when the user is disabled or the session closed.
const (
	Issuer   = "estatecrm"
	Audience = "estatecrm-api"
	// typeAccess marks access tokens, so that no other token can pass as one.
	typeAccess = "access"
	// leeway is the clock skew allowed between the processes of a deployment.
	leeway = 30 * time.Second
)

// ErrInvalidToken is the one answer to any token that fails a check: the
// client learns nothing about which check it failed.
var ErrInvalidToken = errors.New("invalid or expired token")

// Signer issues and checks access tokens with HMAC-SHA256.
type Signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
	// checked remembers the tokens that passed Parse's checks.
	checked checkedTokens
}

// checkedTokens remembers access tokens, by their exact text, that passed
// every check of Parse that does not depend on time: the same text carries
// the same signature and claims, so only the time checks need doing again.
// Phones send the same token for minutes, and the signature and the JSON of
// the claims were 20% of a cached sales grid's CPU. Bounded: when full, the
// expired are dropped, and if none had, all.
type checkedTokens struct {
	mu sync.RWMutex
	m  map[string]checkedToken
}

type checkedToken struct {
	v               Viewer
	issued, expires time.Time
}

// maxCheckedTokens bounds the memory of checkedTokens (about 1 KB a token).
const maxCheckedTokens = 4096

// NewSigner returns a signer with a key of at least 32 bytes.
func NewSigner(key []byte, ttl time.Duration, now func() time.Time) (*Signer, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("the JWT key must be at least 32 bytes")
	}
	if ttl <= 0 || ttl > 15*time.Minute {
		return nil, fmt.Errorf("the access token lifetime must be within 15 minutes")
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, ttl: ttl, now: now}, nil
}

type claims struct {
	jwt.RegisteredClaims
	Type       string   `json:"typ"`
	Role       Role     `json:"role"`
	ProjectIDs []string `json:"prj,omitempty"`
	CustomerID string   `json:"cus,omitempty"`
	// SessionID is the refresh-token family the token was issued in: closing
	// the session (logout, a password change) ends its access tokens too.
	SessionID string `json:"sid,omitempty"`
	// Version is the user's access version at issue (Viewer.AccessVersion).
	Version int `json:"ver,omitempty"`
}

// Issue returns a signed access token for v and when it expires.
func (s *Signer) Issue(v *Viewer) (string, time.Time, error) {
	now := s.now().UTC()
	exp := now.Add(s.ttl)
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Audience:  jwt.ClaimStrings{Audience},
			Subject:   string(v.UserID),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Type:       typeAccess,
		Role:       v.Role,
		CustomerID: string(v.CustomerID),
		SessionID:  v.SessionID,
		Version:    v.AccessVersion,
	}
	for _, p := range v.ProjectIDs {
		c.ProjectIDs = append(c.ProjectIDs, string(p))
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	return tok, exp, err
}

// Parse checks an access token: HS256 only (no "none", no algorithm
// confusion), issuer, audience, the access type, and its life: issued-at
// and expiry required, issued no later than now (give or take the leeway),
// and living no longer than this signer's lifetime. The key signs every
// token of a deployment, so a token with a 10-year expiry can only come
// from a leaked key or a tool, never from a login: it is refused rather
// than trusted for a decade.
func (s *Signer) Parse(token string) (*Viewer, error) {
	s.checked.mu.RLock()
	e, ok := s.checked.m[token]
	s.checked.mu.RUnlock()
	if ok {
		// The time checks of the parser below: expiry and issue time, each
		// with the leeway.
		now := s.now()
		if now.After(e.expires.Add(leeway)) || now.Before(e.issued.Add(-leeway)) {
			return nil, ErrInvalidToken
		}
		v := e.v
		v.ProjectIDs = slices.Clone(e.v.ProjectIDs)
		return &v, nil
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil || c.Type != typeAccess || c.Subject == "" || c.IssuedAt == nil ||
		c.ExpiresAt.Sub(c.IssuedAt.Time) > s.maxLife() {
		return nil, ErrInvalidToken
	}
	switch c.Role {
	case RoleAdmin, RoleManager, RoleAgent, RoleOwner:
	default:
		return nil, ErrInvalidToken
	}
	v := &Viewer{UserID: pulid.ID(c.Subject), Role: c.Role, CustomerID: pulid.ID(c.CustomerID),
		SessionID: c.SessionID, Expires: c.ExpiresAt.Time, AccessVersion: c.Version}
	for _, p := range c.ProjectIDs {
		v.ProjectIDs = append(v.ProjectIDs, pulid.ID(p))
	}
	s.checked.add(token, checkedToken{v: *v, issued: c.IssuedAt.Time, expires: c.ExpiresAt.Time}, s.now())
	return v, nil
}

func (t *checkedTokens) add(token string, e checkedToken, now time.Time) {
	e.v.ProjectIDs = slices.Clone(e.v.ProjectIDs)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]checkedToken{}
	}
	if len(t.m) >= maxCheckedTokens {
		// The leeway past expiry: a token within it still passes.
		past := now.Add(-leeway)
		for k, old := range t.m {
			if old.expires.Before(past) {
				delete(t.m, k)
			}
		}
		if len(t.m) >= maxCheckedTokens {
			clear(t.m)
		}
	}
	t.m[token] = e
}

// maxLife is the longest exp - iat a token of this signer may have: its
// lifetime, rounded up to the second because the claims are whole seconds.
func (s *Signer) maxLife() time.Duration {
	life := s.ttl.Truncate(time.Second)
	if life < s.ttl {
		life += time.Second
	}
	return life
}

// Derive returns a key for another use of the signing secret (signed
// download links), so that a value signed for one use is never valid for
// another.
func (s *Signer) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("estatecrm/" + purpose))
	return m.Sum(nil)
}
