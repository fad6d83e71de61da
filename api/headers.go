package api

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ParseOrigins reads a comma-separated list of browser origins allowed to
// call the API ("https://app.example.com,http://localhost:5173"). Each is a
// scheme, host and optional port, nothing more; "" is none.
func ParseOrigins(s string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(s, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("CORS origin %q: want scheme://host[:port], like https://app.example.com", o)
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

// corsHeaders is what a browser app may send and read across origins.
const (
	corsAllowHeaders  = "Authorization, Content-Type, X-API-Key, Idempotency-Key, X-Request-Id"
	corsExposeHeaders = "X-Request-Id, Retry-After"
)

// The values of the headers every answer carries, made once and assigned
// under their canonical names: Header.Set made a slice and canonicalized the
// name for each header of every answer. A handler that changes one (Set)
// puts a slice of its own in its place; one that adds to it (Add) appends
// to a slice whose capacity is its length, which copies it: these stay as
// they are.
var (
	noStore        = []string{"no-store"}
	noSniff        = []string{"nosniff"}
	noReferrer     = []string{"no-referrer"}
	deny           = []string{"DENY"}
	graphiQLPolicy = []string{"frame-ancestors 'none'"}
	nothingPolicy  = []string{"default-src 'none'; frame-ancestors 'none'"}
)

// secureHeaders sets the headers every answer carries: nothing is cached
// (answers hold tokens and personal data; a handler that may be cached, as
// photos privately are, says so itself), nothing is sniffed as another
// type, framed or sent on as a referrer. A request from one of origins gets
// the CORS headers that let a browser app read the answer, and its
// preflight is answered here; any other origin gets none, so the browser
// keeps the answer from it.
func secureHeaders(origins []string, graphiQL bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Cache-Control"] = noStore
		h["X-Content-Type-Options"] = noSniff
		h["Referrer-Policy"] = noReferrer
		h["X-Frame-Options"] = deny
		if graphiQL && r.URL.Path == "/" {
			h["Content-Security-Policy"] = graphiQLPolicy // the page loads GraphiQL's scripts
		} else {
			h["Content-Security-Policy"] = nothingPolicy
		}
		if len(origins) > 0 {
			h.Add("Vary", "Origin")
			if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(origins, strings.ToLower(origin)) {
				h.Set("Access-Control-Allow-Origin", origin)
				if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
					h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
					h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
					h.Set("Access-Control-Max-Age", "600")
					w.WriteHeader(http.StatusNoContent)
					return
				}
				h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// socketOrigins are the origins, as coder/websocket's OriginPatterns (host
// and port), from which a browser may open a subscription besides the
// API's own: CORS does not apply to WebSockets, the server checks Origin.
func socketOrigins(origins []string) []string {
	var hosts []string
	for _, o := range origins {
		if u, err := url.Parse(o); err == nil {
			hosts = append(hosts, u.Host)
		}
	}
	return hosts
}
