// Package idempotency makes retries of mutations safe (SPEC.md §3.5): a
// mutation sent with an Idempotency-Key header runs once; the same key again
// from the same caller gets the first answer; the same key with a different
// request is refused; concurrent requests with one key run once.
//
// Two gqlgen extensions cooperate around the mutation transaction: Replay,
// outside it, claims the key before the mutation runs (or answers from an
// earlier run), and Record, inside it, stores the answer in the mutation's
// own transaction, so the answer is kept exactly when the change is.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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

// Keys is the store of idempotency keys.
type Keys struct {
	client *ent.Client
	now    func() time.Time
}

// New returns the store over client (not a transaction: a key is claimed
// before the mutation's transaction begins, and released if it fails).
func New(client *ent.Client, now func() time.Time) *Keys {
	if now == nil {
		now = time.Now
	}
	return &Keys{client: client, now: now}
}

type runKey struct{}

// run is what Replay tells Record about the current mutation.
type run struct {
	id     pulid.ID
	stored bool
}

// Replay is the extension outside the mutation transaction.
type Replay struct{ *Keys }

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
	if key == "" || owner == "" || oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return next(ctx)
	}
	if len(key) > 255 {
		return failure(apperr.BadUserInput, "the Idempotency-Key header is longer than 255 characters", "")
	}
	hash := requestHash(oc)
	sys := auth.SystemContext(ctx)
	deadline := r.now().Add(wait)
	for {
		rec, fresh, err := r.claim(sys, owner, key, hash)
		if err != nil {
			return failure(apperr.Unavailable, "the request could not be registered; try again", "")
		}
		if rec.RequestHash != hash {
			return failure(apperr.Conflict, "this Idempotency-Key was used for a different request", "IDEMPOTENCY_KEY_REUSED")
		}
		if fresh {
			return r.runOnce(ctx, sys, rec, next)
		}
		if rec.Response != nil {
			var resp graphql.Response
			if err := json.Unmarshal([]byte(*rec.Response), &resp); err == nil {
				resp.Extensions = graphql.GetExtensions(ctx) // this request's (its cost), not the first's
				return &resp
			}
		}
		if r.now().After(deadline) {
			return failure(apperr.Conflict, "a request with this Idempotency-Key is still running; retry later", "IDEMPOTENCY_KEY_IN_USE")
		}
		time.Sleep(50 * time.Millisecond) // the first run is in flight: wait for its answer
	}
}

// runOnce runs the mutation that claimed the key. A failed run changed
// nothing, so its key is released and a retry runs afresh.
func (r Replay) runOnce(ctx, sys context.Context, rec *ent.IdempotencyKey, next graphql.ResponseHandler) *graphql.Response {
	state := &run{id: rec.ID}
	resp := next(context.WithValue(ctx, runKey{}, state))
	switch {
	case len(resp.Errors) > 0:
		_ = r.client.IdempotencyKey.DeleteOneID(rec.ID).Exec(sys)
	case !state.stored: // ran without a transaction (the session mutations)
		if body, err := answer(resp); err == nil {
			_ = r.client.IdempotencyKey.UpdateOneID(rec.ID).SetResponse(string(body)).Exec(sys)
		}
	}
	return resp
}

// claim registers (owner, key) for this request, or returns the record that
// holds it; fresh says the caller registered it and must run the mutation.
func (r Replay) claim(ctx context.Context, owner, key, hash string) (*ent.IdempotencyKey, bool, error) {
	rec, err := r.client.IdempotencyKey.Create().SetOwner(owner).SetKey(key).SetRequestHash(hash).Save(ctx)
	if err == nil {
		return rec, true, nil
	}
	if !ent.IsConstraintError(err) {
		return nil, false, err
	}
	rec, err = r.client.IdempotencyKey.Query().
		Where(idempotencykey.Owner(owner), idempotencykey.Key(key)).Only(ctx)
	if ent.IsNotFound(err) { // released by a failed run in between: claim again
		return r.claim(ctx, owner, key, hash)
	}
	if err != nil {
		return nil, false, err
	}
	if rec.CreatedAt.Before(r.now().Add(-TTL)) { // expired: the key is free again
		if err := r.client.IdempotencyKey.DeleteOneID(rec.ID).Exec(ctx); err != nil {
			return nil, false, err
		}
		return r.claim(ctx, owner, key, hash)
	}
	return rec, false, nil
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
		err = tx.IdempotencyKey.UpdateOneID(state.id).SetResponse(string(body)).Exec(auth.SystemContext(ctx))
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
