package throttle

import (
	"sync"
	"time"
)

// LoginLimits are the budgets of failed logins. They slow down the source
// of the guesses, never the account: someone who knows a login cannot shut
// its owner out by failing on purpose, because the owner logs in from
// another address, or from one where they logged in before. A source is a
// client address, or the credentials of a caller that has some.
type LoginLimits struct {
	// Pair bounds the failures on one login name from one address.
	Pair Rate
	// Addr bounds the failures from one address, over every login name
	// (one source trying many accounts).
	Addr Rate
	// Name bounds the failures on one login name from addresses that have
	// not logged in to it before (many sources trying one account); an
	// address the user logged in from is not held back by it.
	Name Rate
	// Remember is how long an address a user logged in from stays known.
	Remember time.Duration
}

// DefaultLoginLimits: 5 failures in a row from one address on one login,
// then one every 3 minutes; 30 from one address, then 2 a minute; 100 on
// one login from unknown addresses, then 2 a minute.
func DefaultLoginLimits() LoginLimits {
	return LoginLimits{
		Pair:     Rate{PerMinute: 1.0 / 3, Burst: 5},
		Addr:     Rate{PerMinute: 2, Burst: 30},
		Name:     Rate{PerMinute: 2, Burst: 100},
		Remember: 30 * 24 * time.Hour,
	}
}

// Logins keeps login attempts within LoginLimits. It is told the address
// and the login name as written (normalised by the caller), whether or not
// such a login exists, so its answers say nothing about which logins exist.
type Logins struct {
	pair, addr, name *Buckets
	remember         time.Duration

	mu    sync.Mutex
	known map[string]time.Time // pair key → until when the address is known for the login
}

// NewLogins returns the login throttle.
func NewLogins(l LoginLimits) *Logins {
	return &Logins{
		pair: NewBuckets(l.Pair), addr: NewBuckets(l.Addr), name: NewBuckets(l.Name),
		remember: l.Remember, known: map[string]time.Time{},
	}
}

// Attempt is one login attempt let through.
type Attempt struct {
	l          *Logins
	addr, name string
	known      bool
}

// Begin lets an attempt through, or says how long the address must wait
// before trying this login again. The attempt takes its share of the pair's
// budget at once, so that concurrent guesses count; the others are charged
// when it fails.
func (l *Logins) Begin(addr, name string, now time.Time) (*Attempt, time.Duration) {
	a := &Attempt{l: l, addr: addr, name: name, known: l.isKnown(pairKey(addr, name), now)}
	wait := l.addr.Wait(addr, now)
	if !a.known {
		wait = max(wait, l.name.Wait(name, now))
	}
	if wait > 0 {
		return nil, wait
	}
	if ok, wait := l.pair.Allow(pairKey(addr, name), now); !ok {
		return nil, wait
	}
	return a, 0
}

// Failed charges a failed attempt to the address and the login name.
func (a *Attempt) Failed(now time.Time) {
	a.l.addr.Take(a.addr, now)
	if !a.known {
		a.l.name.Take(a.name, now)
	}
}

// Succeeded forgives the address its failures on this login and remembers
// it as one the user logs in from.
func (a *Attempt) Succeeded(now time.Time) {
	key := pairKey(a.addr, a.name)
	a.l.pair.Forget(key)
	if a.l.remember <= 0 {
		return
	}
	a.l.mu.Lock()
	defer a.l.mu.Unlock()
	if len(a.l.known) >= maxKeys {
		for k, until := range a.l.known {
			if !now.Before(until) || len(a.l.known) >= maxKeys {
				delete(a.l.known, k)
			}
		}
	}
	a.l.known[key] = now.Add(a.l.remember)
}

func (l *Logins) isKnown(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.known[key]
	return ok && now.Before(until)
}

func pairKey(addr, name string) string { return addr + "\x00" + name }
