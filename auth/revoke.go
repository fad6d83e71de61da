package auth

import (
	"context"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"estatecrm/ent"
	"estatecrm/ent/apikey"
	"estatecrm/ent/refreshtoken"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/user"
)

// DefaultRevocationTTL is how long a process trusts its last answer about a
// user's session or a key: a revocation made through any process is seen by
// every other within it, with no messaging between processes, and a busy
// user costs one query per TTL.
const DefaultRevocationTTL = 2 * time.Second

// lookUpTimeout bounds a revocation query, which no single request owns.
const lookUpTimeout = 5 * time.Second

// Revocations answers "are these credentials still good?" for a viewer whose
// token or key was already checked: the user still active, their session
// (refresh-token family) not revoked and what they may see unchanged since
// the token was issued (its access version), or the API key still active. Access
// tokens carry everything else the privacy rules need, so this one indexed
// query, cached per process for a short TTL, is all a request reads about
// its caller.
type Revocations struct {
	client *ent.Client
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	seen  map[string]verdict
	swept time.Time
	// flights makes concurrent requests of one user share one query.
	flights singleflight.Group
}

type verdict struct {
	good bool
	at   time.Time
}

// NewRevocations returns a checker that trusts an answer for ttl (0 means
// DefaultRevocationTTL) by the clock now (nil means time.Now).
func NewRevocations(client *ent.Client, ttl time.Duration, now func() time.Time) *Revocations {
	if ttl <= 0 {
		ttl = DefaultRevocationTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Revocations{client: client, ttl: ttl, now: now, seen: map[string]verdict{}}
}

// TTL is how long an answer is trusted: how late a revocation may be seen.
func (r *Revocations) TTL() time.Duration { return r.ttl }

// Check returns ErrInvalidToken if v's credentials were revoked (user
// disabled or deleted, session ended, role, projects or customer record
// changed since the token was issued, key revoked), another error if the
// database could not say, and nil otherwise. Viewers without stored
// credentials (the system) pass.
func (r *Revocations) Check(ctx context.Context, v *Viewer) error {
	var key string
	switch {
	case v.APIKeyID != "":
		key = "k:" + string(v.APIKeyID)
	case v.UserID != "":
		key = "u:" + string(v.UserID) + "/" + v.SessionID + "/" + strconv.Itoa(v.AccessVersion)
	default:
		return nil
	}
	now := r.now()
	r.mu.Lock()
	got, ok := r.seen[key]
	r.mu.Unlock()
	if !ok || !now.Before(got.at.Add(r.ttl)) {
		// The query answers every request waiting on it, so it must not end
		// when the request that started it goes away; each waits only as
		// long as its own context allows.
		flight := r.flights.DoChan(key, func() (any, error) {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookUpTimeout)
			defer cancel()
			return r.lookUp(ctx, v)
		})
		select {
		case <-ctx.Done():
			return ctx.Err()
		case res := <-flight:
			if res.Err != nil {
				return res.Err // not remembered: the next request asks again
			}
			got = verdict{good: res.Val.(bool), at: now}
			r.remember(key, got)
		}
	}
	if !got.good {
		return ErrInvalidToken
	}
	return nil
}

// lookUp asks the database, as the system: refresh tokens and keys are
// readable by no one else.
func (r *Revocations) lookUp(ctx context.Context, v *Viewer) (bool, error) {
	ctx = SystemContext(ctx)
	if v.APIKeyID != "" {
		return r.client.APIKey.Query().Where(apikey.ID(v.APIKeyID), apikey.Active(true)).Exist(ctx)
	}
	// A token issued before the user's role, projects or customer record
	// last changed carries what they may no longer see.
	q := r.client.User.Query().Where(user.ID(v.UserID), user.Active(true), user.AccessVersion(v.AccessVersion))
	if v.SessionID != "" {
		// A session is alive while its family has a token not revoked:
		// revoking a family marks every token of it (see revokeFamily).
		q.Where(user.HasRefreshTokensWith(refreshtoken.Family(v.SessionID), refreshtoken.RevokedAtIsNil()))
	}
	return q.Exist(ctx)
}

// remember stores an answer and, once per TTL, drops the stale ones, so the
// cache holds only the callers of the last moments.
func (r *Revocations) remember(key string, v verdict) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[key] = v
	if v.at.Sub(r.swept) < r.ttl {
		return
	}
	for k, old := range r.seen {
		if !v.at.Before(old.at.Add(r.ttl)) {
			delete(r.seen, k)
		}
	}
	r.swept = v.at
}

// EndSessions revokes every session of a user but keep (the session making
// the change, or "" for none), in the caller's transaction: a password
// change signs out whoever else knew the old password. Their refresh tokens
// stop at once and their access tokens within a Revocations TTL.
func EndSessions(ctx context.Context, client *ent.Client, userID pulid.ID, keep string) error {
	upd := client.RefreshToken.Update().Where(refreshtoken.UserID(userID), refreshtoken.RevokedAtIsNil())
	if keep != "" {
		upd.Where(refreshtoken.FamilyNEQ(keep))
	}
	// Only whether revoked_at is set matters to the checks; the time is for
	// people reading the table, so the wall clock will do.
	return upd.SetRevokedAt(time.Now().UTC()).Exec(SystemContext(ctx))
}
