package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/cost"
	"estatecrm/ent"
)

// authenticate attaches the viewer of the request's credentials to its
// context: a bearer access token (users) or an X-API-Key (portals). A request
// without credentials goes on anonymous, and the privacy rules refuse it
// anything but logging in. Credentials that fail any check are refused here
// with the same answer, whatever the check; that includes a token whose user
// was disabled or whose session ended (see auth.Revocations).
func authenticate(signer *auth.Signer, keys *auth.APIKeys, revoked *auth.Revocations, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var viewer *auth.Viewer
		ctx := r.Context()
		switch authz, key := r.Header.Get("Authorization"), r.Header.Get("X-API-Key"); {
		case authz != "" && key != "":
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "send either a bearer token or an API key, not both")
			return
		case authz != "":
			token, ok := strings.CutPrefix(authz, "Bearer ")
			v, err := signer.Parse(strings.TrimSpace(token))
			if ok && err == nil {
				err = revoked.Check(r.Context(), v)
			}
			switch {
			case !ok || errors.Is(err, auth.ErrInvalidToken):
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, auth.ErrInvalidToken.Error())
				return
			case err != nil: // the database could not say: let the client retry rather than sign in again
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, errCannotCheck)
				return
			}
			viewer = v
		case key != "":
			// The key's row is read on every request: a revoked key stops at once.
			v, k, allowed, err := keys.Key(r.Context(), key)
			switch {
			case errors.Is(err, auth.ErrInvalidToken):
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "invalid API key")
				return
			case err != nil: // the database could not say: the key may be good
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, apperr.Unavailable, errCannotCheck)
				return
			}
			if !allowed {
				w.Header().Set("Retry-After", "10")
				writeError(w, http.StatusTooManyRequests, apperr.RateLimited, "this API key is over its rate limit; slow down")
				return
			}
			viewer = v
			ctx = cost.NewContext(ctx, keyPayer(k)) // portals pay for their queries by cost
		}
		if viewer != nil {
			r = r.WithContext(auth.NewContext(ctx, viewer))
		}
		next.ServeHTTP(w, r)
	})
}

// keyPayer is the payer of a portal key's operations: its own bucket,
// shared by every process, with the budget an admin set on the key.
func keyPayer(k *ent.APIKey) cost.Payer {
	return cost.Payer{Key: "ak:" + string(k.ID), Budget: cost.Budget{Max: k.CostBudget, RestoreRate: k.CostRestoreRate}}
}

// WebSocket close codes of graphql-transport-ws. The protocol names 4401
// Unauthorized and 4403 Forbidden; as with HTTP 401 and 403, 4401 says the
// credentials are missing, invalid, expired or revoked (get new ones: the
// reference client does not retry it), and 4403 that they are good but this
// connection is refused for now (a key over its rate limit: the reference
// client retries it).
// When the database cannot say whether the credentials are good, the
// connection closes with the standard 1013 (try again later), which clients
// retry, rather than 4401, which would send the user to sign in again.
const (
	closeUnauthorized = 4401
	closeForbidden    = 4403
	closeTryAgain     = 1013
)

const errCannotCheck = "cannot check credentials now; try again shortly"

// socketAuth authenticates WebSocket connections and keeps checking them.
type socketAuth struct {
	signer  *auth.Signer
	keys    *auth.APIKeys
	revoked *auth.Revocations
	// every is how often an open connection asks whether its credentials
	// were revoked (answered from the Revocations cache most of the time).
	every time.Duration
}

// init checks the credentials a WebSocket client sends in connection_init
// ({"Authorization": "Bearer …"} or {"X-API-Key": "…"}). A refused
// connection closes with 4401 or 4403; an accepted one ends, with 4401, when
// its token expires or its credentials are revoked.
func (a socketAuth) init(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	// From here gqlgen closes the connection itself when its context ends
	// (with the slot's code): a shutdown no longer needs to.
	if slot, ok := ctx.Value(closeCodeKey{}).(*closeCode); ok {
		slot.mu.Lock()
		slot.initialising = true
		slot.mu.Unlock()
	}
	var v *auth.Viewer
	if key := p.GetString("X-API-Key"); key != "" {
		kv, k, allowed, err := a.keys.Key(ctx, key)
		switch {
		case errors.Is(err, auth.ErrInvalidToken):
			return refuse(ctx, closeUnauthorized, "invalid API key")
		case err != nil:
			return refuse(ctx, closeTryAgain, errCannotCheck)
		}
		if !allowed {
			return refuse(ctx, closeForbidden, "this API key is over its rate limit; slow down")
		}
		v = kv
		ctx = cost.NewContext(ctx, keyPayer(k))
	} else {
		token, ok := strings.CutPrefix(p.Authorization(), "Bearer ")
		tv, err := a.signer.Parse(strings.TrimSpace(token))
		if ok && err == nil {
			err = a.revoked.Check(ctx, tv)
		}
		switch {
		case !ok || errors.Is(err, auth.ErrInvalidToken):
			return refuse(ctx, closeUnauthorized, auth.ErrInvalidToken.Error())
		case err != nil:
			return refuse(ctx, closeTryAgain, errCannotCheck)
		}
		v = tv
	}
	ctx, cancel := context.WithCancel(auth.NewContext(ctx, v))
	go a.watch(ctx, cancel, v)
	return ctx, nil, nil
}

// refuse answers connection_init with a close code and reason gqlgen sends.
func refuse(ctx context.Context, code int, reason string) (context.Context, *transport.InitPayload, error) {
	ctx = transport.WithWebsocketCloseCode(ctx, code)
	return transport.AppendCloseReason(ctx, reason), nil, errors.New(reason)
}

// watch ends the connection (cancels its context, which ends its
// subscriptions and closes it) when its token expires or, checked every
// a.every, its credentials are revoked. A check the database cannot answer
// keeps the connection: a blip must not drop every subscriber.
func (a socketAuth) watch(ctx context.Context, cancel context.CancelFunc, v *auth.Viewer) {
	defer cancel()
	tick := time.NewTicker(a.every)
	defer tick.Stop()
	var expired <-chan time.Time
	if !v.Expires.IsZero() {
		t := time.NewTimer(time.Until(v.Expires))
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expired:
			setCloseCode(ctx, closeUnauthorized, "the access token expired")
			return
		case <-tick.C:
			if err := a.revoked.Check(ctx, v); errors.Is(err, auth.ErrInvalidToken) {
				setCloseCode(ctx, closeUnauthorized, "the credentials were revoked")
				return
			}
		}
	}
}

// gqlgen closes a connection whose context ends with 1000 (normal closure),
// whatever ended it. closeCodes wraps the WebSocket implementation so that
// the code and reason set by watch go out instead: each upgrade request
// carries a closeCode slot in its context (see withCloseCode), and the
// accepted connection sends what the slot holds when gqlgen closes it.
type closeCodes struct {
	transport.WebsocketImplementation
}

type closeCodeKey struct{}

type closeCode struct {
	mu     sync.Mutex
	code   int
	reason string
	// initialising is set once the connection's connection_init arrived
	// (socketAuth.init): before, gqlgen only waits for that message, and
	// does not see its context end.
	initialising bool
}

// withCloseCode gives a WebSocket upgrade request its closeCode slot, and
// makes it one of sockets, which the server closes when it shuts down.
func withCloseCode(sockets *Sockets, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			sockets.handle(w, r, next)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func setCloseCode(ctx context.Context, code int, reason string) {
	if c, ok := ctx.Value(closeCodeKey{}).(*closeCode); ok {
		c.mu.Lock()
		c.code, c.reason = code, reason
		c.mu.Unlock()
	}
}

// Accept accepts the connection and wraps it to send the slot's close code.
// A connection still waiting for its connection_init when the request's
// context ends with a code in the slot (Sockets.Shutdown) is closed with it
// then: gqlgen, blocked reading that first message, would keep it open
// until the client spoke or the process exited, a dropped connection
// rather than a close the client acts on.
func (c closeCodes) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := c.WebsocketImplementation.Accept(w, r, o)
	slot, ok := r.Context().Value(closeCodeKey{}).(*closeCode)
	if err != nil || !ok {
		return conn, err
	}
	cc := &codedConn{WebsocketConn: conn, slot: slot}
	go func() {
		<-r.Context().Done() // at the latest when the connection's handler returns
		slot.mu.Lock()
		waiting, code := !slot.initialising, slot.code
		slot.mu.Unlock()
		if waiting && code != 0 {
			_ = cc.WriteClose(code, "")
		}
	}()
	return cc, nil
}

// codedConn is a connection that closes with its slot's code when one is
// set. It passes on the optional read limit and deadline, which gqlgen
// finds by type assertion: without them the payload limit would go.
type codedConn struct {
	transport.WebsocketConn
	slot *closeCode
}

var (
	_ transport.WebsocketReadLimiter   = (*codedConn)(nil)
	_ transport.WebsocketReadDeadliner = (*codedConn)(nil)
)

func (c *codedConn) WriteClose(code int, reason string) error {
	c.slot.mu.Lock()
	if c.slot.code != 0 {
		code, reason = c.slot.code, c.slot.reason
	}
	c.slot.mu.Unlock()
	return c.WebsocketConn.WriteClose(code, reason)
}

func (c *codedConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *codedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
