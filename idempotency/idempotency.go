// Package idempotency makes retries of mutations safe (SPEC.md §3.5): a
// mutation sent with an Idempotency-Key header runs once; the same key again
// from the same caller gets the first answer; the same key with a different
// request is refused; concurrent requests with one key run once; a request
// that died (its process killed, its database connection gone) leaves its
// key free again within seconds.
//
// Two gqlgen extensions cooperate around the mutation transaction: Replay,
// outside it, claims the key before the mutation runs (or answers from an
// earlier run), and Record, inside it, stores the answer in the mutation's
// own transaction, so the answer is kept exactly when the change is.
//
// A claim is written outside the transaction (so that concurrent requests
// see it and wait), which means nothing rolls it back when its request dies.
// So a claim is a lease: it carries a random token and an expiry that the
// running request pushes forward while it lives. A retry that finds a claim
// without an answer whose lease lapsed takes it over with a conditional
// UPDATE (one winner, a new token). Record stores the answer only where the
// token is still the run's own and fails the transaction otherwise, so a run
// whose claim was taken over can never commit: the mutation happens once.
package idempotency

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/idempotencykey"
	"estatecrm/ent/schema/pulid"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// Keys are kept at least this long; an older one may be used afresh.
const TTL = 48 * time.Hour

// wait is how long a retry waits for a concurrent first run to finish.
const wait = 15 * time.Second

// DefaultLease is how long a claim outlives the last sign of life of its
// request: a retry of a request that died runs after at most this long.
// The running request renews it three times per lease, so a database that
// stalls for a moment does not hand a live run's key to a retry. Servers
// compare a lease with their own clocks: a skew between them (keep them on
// NTP) lengthens or shortens that wait by as much, and exactly-once holds
// regardless (Store checks the token, not the time).
const DefaultLease = 5 * time.Second

// ErrClaimLost is returned when a run's claim was taken over by a retry
// (its lease lapsed): the run must not commit.
var ErrClaimLost = errors.New("idempotency: the claim of this run was taken over")

// Keys is the store of idempotency keys.
type Keys struct {
	client *ent.Client
	now    func() time.Time
	// Lease is the life of a claim without renewal; zero means DefaultLease.
	Lease time.Duration
}

// New returns the store over client (not a transaction: a key is claimed
// before the mutation's transaction begins, and released if it fails). now
// is the domain clock, which ages keys; leases run on the wall clock, since
// they measure whether a process is alive.
func New(client *ent.Client, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{client: client, now: now}
}

func (k *Keys) lease() time.Duration {
	if k.Lease > 0 {
		return k.Lease
	}
	return DefaultLease
}

// leaseEnd is a lease's expiry from now, in UTC: SQLite compares times as
// text, which orders only times written with one offset.
func (k *Keys) leaseEnd() time.Time { return time.Now().UTC().Add(k.lease()) }

// Claim is the right of one run to execute the mutation of a key.
type Claim struct {
	ID    pulid.ID
	Token string
}

// Acquire registers (owner, key) for a request with hash. It returns a claim
// when the caller must run the mutation (the key is new, expired, or its
// last run died), or else the record that holds the key: with another
// request's hash, with the first answer, or still running.
func (k *Keys) Acquire(ctx context.Context, owner, key, hash string) (*Claim, *ent.IdempotencyKey, error) {
	for {
		token := rand.Text()
		rec, err := k.client.IdempotencyKey.Create().SetOwner(owner).SetKey(key).SetRequestHash(hash).
			SetToken(token).SetLeaseUntil(k.leaseEnd()).Save(ctx)
		if err == nil {
			return &Claim{ID: rec.ID, Token: token}, nil, nil
		}
		if !ent.IsConstraintError(err) {
			return nil, nil, err
		}
		rec, err = k.client.IdempotencyKey.Query().
			Where(idempotencykey.Owner(owner), idempotencykey.Key(key)).Only(ctx)
		switch {
		case ent.IsNotFound(err): // released by a failed run in between: claim again
			continue
		case err != nil:
			return nil, nil, err
		case rec.CreatedAt.Before(k.now().Add(-TTL)): // expired: the key is free again
			_, err := k.client.IdempotencyKey.Delete().
				Where(idempotencykey.ID(rec.ID), idempotencykey.Token(rec.Token)).Exec(ctx)
			if err != nil {
				return nil, nil, err
			}
			continue
		case rec.RequestHash != hash || rec.Response != nil:
			return nil, rec, nil
		case rec.LeaseUntil != nil && time.Now().Before(*rec.LeaseUntil):
			return nil, rec, nil // its run is alive
		}
		// The run that claimed it died without an answer: take the claim over.
		// One of several retries wins; the run that died, should it be alive
		// after all, can no longer store its answer, so it cannot commit.
		now := time.Now().UTC()
		n, err := k.client.IdempotencyKey.Update().
			Where(idempotencykey.ID(rec.ID), idempotencykey.Token(rec.Token), idempotencykey.ResponseIsNil(),
				idempotencykey.Or(idempotencykey.LeaseUntilIsNil(), idempotencykey.LeaseUntilLT(now))).
			SetToken(token).SetLeaseUntil(k.leaseEnd()).Save(ctx)
		if err != nil {
			return nil, nil, err
		}
		if n == 1 {
			return &Claim{ID: rec.ID, Token: token}, nil, nil
		}
	}
}

// Keep renews c's lease until the returned stop is called: the claim of a
// live run never lapses, however long it runs.
func (k *Keys) Keep(ctx context.Context, c *Claim) (stop func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		tick := time.NewTicker(k.lease() / 3)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				// A failure is left to the lease: if the database is gone, so
				// is the transaction of the run.
				_, _ = k.client.IdempotencyKey.Update().
					Where(idempotencykey.ID(c.ID), idempotencykey.Token(c.Token)).
					SetLeaseUntil(k.leaseEnd()).Save(ctx)
			}
		}
	}()
	return cancel
}

// Store keeps the answer of c's run through db (the mutation's transaction,
// or the plain client for a mutation that runs without one). It fails with
// ErrClaimLost when a retry took the claim over.
func (k *Keys) Store(ctx context.Context, db *ent.Client, c *Claim, body []byte) error {
	n, err := db.IdempotencyKey.Update().
		Where(idempotencykey.ID(c.ID), idempotencykey.Token(c.Token)).
		SetResponse(string(body)).Save(ctx)
	if err == nil && n == 0 {
		err = ErrClaimLost
	}
	return err
}

// Release frees the key of a run that failed (and so changed nothing), for
// a retry to run afresh. A claim that holds an answer stays: a commit whose
// acknowledgement was lost did happen. Release runs even when the request's
// context is done; if the database cannot be reached, the lease frees the
// key instead.
func (k *Keys) Release(ctx context.Context, c *Claim) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, _ = k.client.IdempotencyKey.Delete().
		Where(idempotencykey.ID(c.ID), idempotencykey.Token(c.Token), idempotencykey.ResponseIsNil()).
		Exec(ctx)
}

type runKey struct{}

// run is what Replay tells Record about the current mutation.
type run struct {
	claim  *Claim
	key    string
	stored bool
}

// KeyOf returns the Idempotency-Key of the mutation running in ctx, empty
// if it has none. What a mutation writes outside its transaction (the
// record of a refused registration, which survives the refusal's rollback)
// uses it to be written once too: a failed run releases its key, and the
// retry runs again.
func KeyOf(ctx context.Context) string {
	if r, ok := ctx.Value(runKey{}).(*run); ok {
		return r.key
	}
	return ""
}

// Replay is the extension outside the mutation transaction.
type Replay struct {
	*Keys
	// Unkept names mutations whose answers are never kept for replay: an
	// answer that is itself personal data given under an access check (an
	// export, a revealed phone) would stay in idempotency_keys and be
	// replayed without the check. They are safe to run again, so an
	// operation naming one of them runs (and is audited) on every retry.
	Unkept []string
}

// unkept reports whether a root field of the selection (fragments
// included) is in Unkept.
func (r Replay) unkept(set ast.SelectionSet) bool {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if slices.Contains(r.Unkept, s.Name) {
				return true
			}
		case *ast.InlineFragment:
			if r.unkept(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition != nil && r.unkept(s.Definition.SelectionSet) {
				return true
			}
		}
	}
	return false
}

// Record is the extension inside the mutation transaction.
type Record struct{ *Keys }

// ExtensionName implements graphql.HandlerExtension.
func (Replay) ExtensionName() string { return "IdempotencyReplay" }

// ExtensionName implements graphql.HandlerExtension.
func (Record) ExtensionName() string { return "IdempotencyRecord" }

// Validate implements graphql.HandlerExtension.
func (Replay) Validate(graphql.ExecutableSchema) error { return nil }

// Validate implements graphql.HandlerExtension.
func (Record) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptResponse implements graphql.ResponseInterceptor.
func (r Replay) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	oc := graphql.GetOperationContext(ctx)
	key := oc.Headers.Get(Header)
	owner := ownerOf(auth.FromContext(ctx))
	if key == "" || owner == "" || oc.Operation == nil || oc.Operation.Operation != ast.Mutation || r.unkept(oc.Operation.SelectionSet) {
		return next(ctx)
	}
	if len(key) > 255 {
		return failure(apperr.BadUserInput, "the Idempotency-Key header is longer than 255 characters", "")
	}
	hash := requestHash(oc)
	sys := auth.SystemContext(ctx)
	deadline := time.Now().Add(wait)
	for {
		claim, rec, err := r.Acquire(sys, owner, key, hash)
		switch {
		case err != nil:
			return failure(apperr.Unavailable, "the request could not be registered; try again", "")
		case claim != nil:
			return r.runOnce(ctx, sys, claim, key, next)
		case rec.RequestHash != hash:
			return failure(apperr.Conflict, "this Idempotency-Key was used for a different request", "IDEMPOTENCY_KEY_REUSED")
		case rec.Response != nil:
			var resp graphql.Response
			if err := json.Unmarshal([]byte(*rec.Response), &resp); err == nil {
				resp.Extensions = graphql.GetExtensions(ctx) // this request's (its cost), not the first's
				return &resp
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return failure(apperr.Conflict, "a request with this Idempotency-Key is still running; retry later", "IDEMPOTENCY_KEY_IN_USE")
		}
		time.Sleep(50 * time.Millisecond) // the first run is in flight: wait for its answer
	}
}

// runOnce runs the mutation that claimed the key, keeping its lease alive
// meanwhile. A failed run changed nothing, so its key is released and a
// retry runs afresh.
func (r Replay) runOnce(ctx, sys context.Context, c *Claim, key string, next graphql.ResponseHandler) *graphql.Response {
	stop := r.Keep(sys, c)
	defer stop()
	state := &run{claim: c, key: key}
	resp := next(context.WithValue(ctx, runKey{}, state))
	switch {
	case len(resp.Errors) > 0:
		r.Release(sys, c)
	case !state.stored: // ran without a transaction (the session mutations)
		if body, err := answer(resp); err == nil {
			_ = r.Store(context.WithoutCancel(sys), r.client, c, body)
		}
	}
	return resp
}

// InterceptResponse implements graphql.ResponseInterceptor: it stores a
// successful answer in the mutation's transaction.
func (r Record) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	state, ok := ctx.Value(runKey{}).(*run)
	tx := ent.FromContext(ctx)
	if !ok || tx == nil || len(resp.Errors) > 0 {
		return resp
	}
	body, err := answer(resp)
	if err == nil {
		err = r.Store(auth.SystemContext(ctx), tx, state.claim, body)
	}
	if err != nil { // answering without keeping the answer would let a retry run again
		return failure(apperr.Unavailable, "the request could not be completed; nothing was changed, try again", "")
	}
	state.stored = true
	return resp
}

// answer is what is kept of a response: its data and errors; extensions
// (the query cost) belong to each request.
func answer(resp *graphql.Response) ([]byte, error) {
	return json.Marshal(graphql.Response{Data: resp.Data, Errors: resp.Errors})
}

// ownerOf names who a key belongs to: keys of different callers never meet.
func ownerOf(v *auth.Viewer) string {
	switch {
	case v == nil:
		return ""
	case v.UserID != "":
		return string(v.UserID)
	default:
		return string(v.APIKeyID)
	}
}

// requestHash identifies a request by its operation and variables.
func requestHash(oc *graphql.OperationContext) string {
	b, _ := json.Marshal(map[string]any{"query": oc.RawQuery, "operationName": oc.OperationName, "variables": oc.Variables})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// failure is an answer made here, outside the error presenter.
func failure(code apperr.Code, msg, reason string) *graphql.Response {
	ext := map[string]any{"code": string(code)}
	if reason != "" {
		ext["reason"] = reason
	}
	return &graphql.Response{Errors: gqlerror.List{{Message: msg, Extensions: ext}}}
}
