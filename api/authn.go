package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler/transport"

	"estatecrm/apperr"
	"estatecrm/auth"
)

// authenticate attaches the viewer of the request's credentials to its
// context: a bearer access token (users) or an X-API-Key (portals). A request
// without credentials goes on anonymous, and the privacy rules refuse it
// anything but logging in. Credentials that fail any check are refused here
// with the same answer, whatever the check.
func authenticate(signer *auth.Signer, keys *auth.APIKeys, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var viewer *auth.Viewer
		switch authz, key := r.Header.Get("Authorization"), r.Header.Get("X-API-Key"); {
		case authz != "" && key != "":
			writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "send either a bearer token or an API key, not both")
			return
		case authz != "":
			token, ok := strings.CutPrefix(authz, "Bearer ")
			v, err := signer.Parse(strings.TrimSpace(token))
			if !ok || err != nil {
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, auth.ErrInvalidToken.Error())
				return
			}
			viewer = v
		case key != "":
			v, allowed, err := keys.Authenticate(r.Context(), key)
			if err != nil {
				writeError(w, http.StatusUnauthorized, apperr.Unauthenticated, "invalid API key")
				return
			}
			if !allowed {
				w.Header().Set("Retry-After", "10")
				writeError(w, http.StatusTooManyRequests, apperr.RateLimited, "this API key is over its rate limit; slow down")
				return
			}
			viewer = v
		}
		if viewer != nil {
			r = r.WithContext(auth.NewContext(r.Context(), viewer))
		}
		next.ServeHTTP(w, r)
	})
}

// authenticateSocket checks the credentials a WebSocket client sends in
// connection_init ({"Authorization": "Bearer …"} or {"X-API-Key": "…"}).
// A token's connection ends when the token does.
func authenticateSocket(signer *auth.Signer, keys *auth.APIKeys) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		if key := p.GetString("X-API-Key"); key != "" {
			v, allowed, err := keys.Authenticate(ctx, key)
			if err != nil || !allowed {
				return ctx, nil, errors.New("invalid API key")
			}
			return auth.NewContext(ctx, v), nil, nil
		}
		token, ok := strings.CutPrefix(p.Authorization(), "Bearer ")
		v, err := signer.Parse(strings.TrimSpace(token))
		if !ok || err != nil {
			return ctx, nil, auth.ErrInvalidToken
		}
		ctx, cancel := context.WithDeadline(auth.NewContext(ctx, v), v.Expires)
		context.AfterFunc(ctx, cancel) // released when the deadline passes or the connection ends
		return ctx, nil, nil
	}
}
