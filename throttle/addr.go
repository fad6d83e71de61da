package throttle

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"estatecrm/apperr"
)

// Proxies are the addresses of the reverse proxies in front of the server,
// whose X-Forwarded-For is believed. None by default: anyone can write that
// header, so believing it from anyone would let a client choose its address.
type Proxies []netip.Prefix

// ParseProxies reads a comma-separated list of addresses or CIDR prefixes.
func ParseProxies(s string) (Proxies, error) {
	var ps Proxies
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
			}
			ps = append(ps, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

func (ps Proxies) trusted(a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr returns the address a request comes from: the connection's
// peer, or, when that peer is a trusted proxy, the last address in
// X-Forwarded-For that is not one (proxies append, so what is left of the
// last untrusted hop is the client's own writing). An IPv6 client is its
// /64: one host holds a whole /64, and would otherwise have 2^64 addresses
// to spread its attempts over.
func (ps Proxies) ClientAddr(r *http.Request) string {
	peer := parseHostPort(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	a := peer
	if ps.trusted(peer) {
		hops := r.Header.Values("X-Forwarded-For")
		var all []string
		for _, h := range hops {
			all = append(all, strings.Split(h, ",")...)
		}
		for i := len(all) - 1; i >= 0; i-- {
			hop, err := netip.ParseAddr(strings.TrimSpace(all[i]))
			if err != nil {
				break // garbage: stop at the last address we could read
			}
			a = hop.Unmap()
			if !ps.trusted(a) {
				break
			}
		}
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func parseHostPort(s string) netip.Addr {
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

type requestKey struct{}

// request is what throttling knows of a request: who sends it, and whether
// something in it was refused for being over a limit.
type request struct {
	source string

	mu         sync.Mutex
	retryAfter time.Duration
}

// NewContext returns ctx carrying the source of its request: who is sending
// it, as far as the server can tell (see api's limitRequests): the caller's
// credentials when it has some, its client address otherwise.
func NewContext(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, requestKey{}, &request{source: source})
}

// Source returns the source of ctx's request, or "" outside a request.
func Source(ctx context.Context) string {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		return r.source
	}
	return ""
}

// Refuse returns the RATE_LIMITED error of something over its limit, and
// notes in ctx's request that the response must say when to retry (HTTP 429
// and Retry-After, see RetryAfter).
func Refuse(ctx context.Context, wait time.Duration) error {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		r.mu.Lock()
		r.retryAfter = max(r.retryAfter, wait)
		r.mu.Unlock()
	}
	return apperr.New(apperr.RateLimited, "too many requests; retry in %d seconds", Seconds(wait))
}

// RetryAfter returns the wait noted by Refuse in ctx's request (0: none).
func RetryAfter(ctx context.Context) time.Duration {
	if r, ok := ctx.Value(requestKey{}).(*request); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.retryAfter
	}
	return 0
}

// Seconds is a wait in whole seconds, rounded up, at least 1: the unit of
// Retry-After.
func Seconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// SetRetryAfter writes the Retry-After header of a wait.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", strconv.Itoa(Seconds(d)))
}
