package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"estatecrm/ent"
	"estatecrm/ent/apikey"
)

// An API key reads "ek_<prefix>_<secret>": the prefix finds the row, the
// whole key is checked against its stored SHA-256 (the key is 256 random
// bits, so no slow hash is needed).
const apiKeyScheme = "ek_"

// NewAPIKey returns a new key and the prefix and hash to store. The key
// itself is shown once and never stored.
func NewAPIKey() (key, prefix, hash string) {
	var p [8]byte
	_, _ = rand.Read(p[:])
	prefix = hex.EncodeToString(p[:])
	key = apiKeyScheme + prefix + "_" + randomToken()
	return key, prefix, HashAPIKey(key)
}

// HashAPIKey returns what is stored of a key.
func HashAPIKey(key string) string { return hashToken(key) }

// APIKeyPrefix returns the public prefix of a well-formed key.
func APIKeyPrefix(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, apiKeyScheme)
	prefix, _, ok2 := strings.Cut(rest, "_")
	if !ok || !ok2 || len(prefix) != 16 {
		return "", false
	}
	return prefix, true
}

// APIKeys authenticates portals and keeps each key within its rate limit.
type APIKeys struct {
	client *ent.Client
	now    func() time.Time

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
}

// NewAPIKeys returns the portal authenticator.
func NewAPIKeys(client *ent.Client, now func() time.Time) *APIKeys {
	if now == nil {
		now = time.Now
	}
	return &APIKeys{client: client, now: now, limiters: map[string]*rate.Limiter{}}
}

// Authenticate returns the portal viewer of a key, or ErrInvalidToken. The
// second result reports whether the key is within its rate limit.
func (a *APIKeys) Authenticate(ctx context.Context, key string) (*Viewer, bool, error) {
	v, _, allowed, err := a.Key(ctx, key)
	return v, allowed, err
}

// Key is Authenticate that also returns the key's row (its query-cost
// budget, for one).
func (a *APIKeys) Key(ctx context.Context, key string) (*Viewer, *ent.APIKey, bool, error) {
	prefix, ok := APIKeyPrefix(key)
	if !ok {
		return nil, nil, false, ErrInvalidToken
	}
	sys := SystemContext(ctx)
	k, err := a.client.APIKey.Query().Where(apikey.KeyPrefix(prefix)).Only(sys)
	if ent.IsNotFound(err) {
		return nil, nil, false, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, false, err
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(key)), []byte(k.SecretHash)) != 1 || !k.Active {
		return nil, nil, false, ErrInvalidToken
	}
	now := a.now().UTC()
	// last_used_at is for humans: a minute's precision spares a write per request.
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		if err := a.client.APIKey.UpdateOne(k).SetLastUsedAt(now).Exec(sys); err != nil {
			return nil, nil, false, err
		}
	}
	return &Viewer{Role: RolePortal, APIKeyID: k.ID, PortalProjects: k.ProjectIds}, k, a.allow(k, now), nil
}

// allow takes one request from the key's budget: rate_limit_per_minute,
// with bursts of up to a tenth of it.
func (a *APIKeys) allow(k *ent.APIKey, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.limiters[string(k.ID)]
	perSec := rate.Limit(float64(k.RateLimitPerMinute) / 60)
	burst := max(1, k.RateLimitPerMinute/10)
	if l == nil || l.Limit() != perSec || l.Burst() != burst {
		l = rate.NewLimiter(perSec, burst)
		a.limiters[string(k.ID)] = l
	}
	return l.AllowN(now, 1)
}
