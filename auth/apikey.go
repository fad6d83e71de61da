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
	"estatecrm/ent/hook"
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
//
// A key's row is read once per DefaultRevocationTTL per process, not once
// per request: a portal sends many requests a second with one key, and the
// row changes only when an admin revokes it or changes its limits. Every
// request still checks the whole key against the cached hash. A change made
// through this process's client (revokeAPIKey, updateAPIKey: any APIKey
// mutation) empties the cache at once; one made through another process is
// seen within the TTL, the same delay as Revocations (SPEC §3.4: revoking
// access takes effect within seconds). Keys not found are not cached, so a
// new key works at once.
type APIKeys struct {
	client *ent.Client
	now    func() time.Time
	ttl    time.Duration

	mu       sync.Mutex
	limiters map[string]*rate.Limiter
	rows     map[string]cachedKey // by prefix
	// gen counts the APIKey mutations seen: a row read before one is not
	// cached after it.
	gen uint64
}

type cachedKey struct {
	row *ent.APIKey
	at  time.Time
}

// maxCachedKeys bounds the cache; past it, it is emptied (keys are few).
const maxCachedKeys = 10_000

// NewAPIKeys returns the portal authenticator. It registers a hook on
// client's APIKey mutations that empties its cache of key rows.
func NewAPIKeys(client *ent.Client, now func() time.Time) *APIKeys {
	if now == nil {
		now = time.Now
	}
	a := &APIKeys{client: client, now: now, ttl: DefaultRevocationTTL, limiters: map[string]*rate.Limiter{}, rows: map[string]cachedKey{}}
	client.APIKey.Use(func(next ent.Mutator) ent.Mutator {
		return hook.APIKeyFunc(func(ctx context.Context, m *ent.APIKeyMutation) (ent.Value, error) {
			// Forgotten before and after: a request reading the row while
			// the change is being written does not cache it (gen moved).
			a.forget()
			defer a.forget()
			return next.Mutate(ctx, m)
		})
	})
	return a
}

// forget empties the cache of key rows.
func (a *APIKeys) forget() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.gen++
	clear(a.rows)
}

// row returns the row of the key with prefix: cached if read within the
// TTL, else read (as the system) and cached.
func (a *APIKeys) row(ctx context.Context, prefix string, now time.Time) (*ent.APIKey, error) {
	a.mu.Lock()
	c, ok := a.rows[prefix]
	gen := a.gen
	a.mu.Unlock()
	if ok && now.Before(c.at.Add(a.ttl)) && !now.Before(c.at) {
		return c.row, nil
	}
	k, err := a.client.APIKey.Query().Where(apikey.KeyPrefix(prefix)).Only(SystemContext(ctx))
	if err != nil {
		return nil, err
	}
	a.remember(prefix, k, now, gen)
	return k, nil
}

// remember caches k, read at now, unless a mutation happened since gen.
func (a *APIKeys) remember(prefix string, k *ent.APIKey, now time.Time, gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.gen != gen {
		return
	}
	if len(a.rows) >= maxCachedKeys {
		clear(a.rows)
	}
	a.rows[prefix] = cachedKey{row: k, at: now}
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
	now := a.now().UTC()
	k, err := a.row(ctx, prefix, now)
	if ent.IsNotFound(err) {
		return nil, nil, false, ErrInvalidToken
	}
	if err != nil {
		return nil, nil, false, err
	}
	if subtle.ConstantTimeCompare([]byte(hashToken(key)), []byte(k.SecretHash)) != 1 || !k.Active {
		return nil, nil, false, ErrInvalidToken
	}
	// last_used_at is for humans: a minute's precision spares a write per
	// request. The update empties the cache (the hook); the row it returns,
	// read from the database after the write (not the cached one, which may
	// predate a revocation through another process), is checked again and
	// cached unless another change was made through this process meanwhile
	// (the hook moved gen by more than this update's two).
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) > time.Minute {
		a.mu.Lock()
		gen := a.gen
		a.mu.Unlock()
		used, err := a.client.APIKey.UpdateOne(k).SetLastUsedAt(now).Save(SystemContext(ctx))
		if ent.IsNotFound(err) {
			return nil, nil, false, ErrInvalidToken
		}
		if err != nil {
			return nil, nil, false, err
		}
		a.remember(prefix, used, now, gen+2)
		if subtle.ConstantTimeCompare([]byte(hashToken(key)), []byte(used.SecretHash)) != 1 || !used.Active {
			return nil, nil, false, ErrInvalidToken
		}
		k = used
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
