package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/throttle"
)

// RequestLimits are the request budgets of callers (portal keys have theirs
// in auth.APIKeys). The zero value limits nothing.
type RequestLimits struct {
	// PerUser bounds the requests of one logged-in user, over all their
	// tokens and devices.
	PerUser throttle.Rate
	// PerAddress bounds the requests without credentials from one client
	// address: logins, refreshes, anything an attacker can send for free.
	PerAddress throttle.Rate
	// Proxies are the reverse proxies whose X-Forwarded-For is believed.
	Proxies throttle.Proxies
}

// limitRequests keeps each caller within its budget, answering 429
// RATE_LIMITED with Retry-After over it. It runs after authenticate, which
// tells a user from an anonymous caller. It also puts the request's source
// in the context (login throttling is by source) and turns a refusal made
// deeper in, by throttle.Refuse, into the same 429 and Retry-After.
func limitRequests(l RequestLimits, now func() time.Time, next http.Handler) http.Handler {
	users, anonymous := throttle.NewBuckets(l.PerUser), throttle.NewBuckets(l.PerAddress)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := l.Proxies.ClientAddr(r)
		// The source of a request is its credentials when it has some (a
		// better name than an address, which many share), else its address.
		var b *throttle.Buckets
		source := addr
		switch v := auth.FromContext(r.Context()); {
		case v == nil:
			b = anonymous
		case v.Role == auth.RolePortal: // keys have their own limits
			source = "key:" + string(v.APIKeyID)
		default:
			b, source = users, "user:"+string(v.UserID)
		}
		ctx := throttle.NewContext(r.Context(), source)
		if ok, wait := b.Allow(source, now()); !ok {
			throttle.SetRetryAfter(w.Header(), wait)
			writeError(w, http.StatusTooManyRequests, apperr.RateLimited,
				fmt.Sprintf("too many requests; retry in %d seconds", throttle.Seconds(wait)))
			return
		}
		r = r.WithContext(ctx)
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") { // the connection is hijacked: nothing to add
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&refusalWriter{ResponseWriter: w, r: r}, r)
	})
}

// refusalWriter adds 429 and Retry-After to a response when something in
// the request was refused for being over a limit.
type refusalWriter struct {
	http.ResponseWriter
	r       *http.Request
	written bool
}

func (w *refusalWriter) WriteHeader(code int) {
	if !w.written {
		w.written = true
		if d := throttle.RetryAfter(w.r.Context()); d > 0 {
			throttle.SetRetryAfter(w.Header(), d)
			if code == http.StatusOK {
				code = http.StatusTooManyRequests
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *refusalWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
