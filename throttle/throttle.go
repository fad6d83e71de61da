// Package throttle keeps each caller within its share of the server: token
// buckets per key (a user, a client address, a login name), the client
// address read so that a client cannot choose its own, and the refusal that
// tells a client when to come back (RATE_LIMITED with Retry-After).
//
// The buckets live in the memory of one process: with several processes a
// caller gets each process's budget. That bounds a flood well enough; a
// shared store is for when it does not.
package throttle

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is a budget: PerMinute events a minute on average, in bursts of up to
// Burst. The zero Rate is no limit.
type Rate struct {
	PerMinute float64
	Burst     int
}

// PerMinute returns a budget of n a minute with bursts of a tenth of it, the
// shape the portal keys' limits have.
func PerMinute(n int) Rate {
	if n <= 0 {
		return Rate{}
	}
	return Rate{PerMinute: float64(n), Burst: max(1, n/10)}
}

// ParseRate reads a budget written "N" (N a minute, bursts of N/10) or
// "N/DURATION" (N per duration, bursts of N, e.g. "5/15m"); "0" is no limit.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	n, per, hasPer := strings.Cut(s, "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil || count < 0 {
		return Rate{}, fmt.Errorf("rate %q: want N (a minute) or N/DURATION like 5/15m", s)
	}
	if !hasPer {
		return PerMinute(count), nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d <= 0 {
		return Rate{}, fmt.Errorf("rate %q: want N (a minute) or N/DURATION like 5/15m", s)
	}
	if count == 0 {
		return Rate{}, nil
	}
	return Rate{PerMinute: float64(count) * float64(time.Minute) / float64(d), Burst: count}, nil
}

// Off reports whether the budget is no limit.
func (r Rate) Off() bool { return r.PerMinute <= 0 || r.Burst <= 0 }

func (r Rate) limit() rate.Limit { return rate.Limit(r.PerMinute / 60) }

// maxKeys bounds the memory of one Buckets: an attacker with many addresses
// evicts buckets, it cannot grow the map without end.
const maxKeys = 100_000

// Buckets is a token bucket per key, all with the same budget. Buckets that
// have filled up again are forgotten (a new one is the same), so memory
// follows the callers that are actually spending.
type Buckets struct {
	rate Rate
	max  int

	mu sync.Mutex
	m  map[string]*rate.Limiter
}

// NewBuckets returns buckets with the budget r; a zero r allows everything.
func NewBuckets(r Rate) *Buckets {
	return &Buckets{rate: r, max: maxKeys, m: map[string]*rate.Limiter{}}
}

// Allow takes one token from key's bucket. When there is none it takes
// nothing and says how long until there is.
func (b *Buckets) Allow(key string, now time.Time) (bool, time.Duration) {
	t := b.Take(key, now)
	if t.Wait > 0 {
		t.Cancel()
		return false, t.Wait
	}
	return true, 0
}

// Take takes one token from key's bucket, even when that means going into
// debt; the Token says how long the caller should have waited for it (0: it
// was there) and can be given back.
func (b *Buckets) Take(key string, now time.Time) Token {
	if b == nil || b.rate.Off() {
		return Token{}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.m[key]
	if l == nil {
		b.makeRoom(now)
		l = rate.NewLimiter(b.rate.limit(), b.rate.Burst)
		b.m[key] = l
	}
	r := l.ReserveN(now, 1)
	return Token{r: r, now: now, Wait: r.DelayFrom(now)}
}

// Wait says how long until key's bucket holds a token, taking nothing.
func (b *Buckets) Wait(key string, now time.Time) time.Duration {
	if b == nil || b.rate.Off() {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.m[key]
	if l == nil {
		return 0
	}
	missing := 1 - l.TokensAt(now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(l.Limit()) * float64(time.Second)))
}

// Forget drops key's bucket: it is full again.
func (b *Buckets) Forget(key string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// makeRoom keeps the map under its bound: full buckets go first, then, if
// every bucket is spending, arbitrary ones (map order).
func (b *Buckets) makeRoom(now time.Time) {
	if len(b.m) < b.max {
		return
	}
	for k, l := range b.m {
		if l.TokensAt(now) >= float64(l.Burst()) {
			delete(b.m, k)
		}
	}
	for k := range b.m {
		if len(b.m) < b.max {
			break
		}
		delete(b.m, k)
	}
}

// Token is one token taken from a bucket.
type Token struct {
	r   *rate.Reservation
	now time.Time
	// Wait is how long the caller should have waited for the token; 0
	// when the bucket had it.
	Wait time.Duration
}

// Cancel gives the token back.
func (t Token) Cancel() {
	if t.r != nil {
		t.r.CancelAt(t.now)
	}
}
