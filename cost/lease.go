package cost

import (
	"context"
	"math"
	"sync"
	"time"

	"estatecrm/clock"
)

// A portal's requests each took their cost from the shared bucket: one
// statement per request, the UPSERT of one hot row (cost/coalesce.go only
// batched the ones that overlapped). Leasing takes the statement off most
// requests: a process leases a slice of a key's bucket in the statement of
// a take (the take's own points and some more), grants the next takes of
// that key from the slice without a statement, and gives back what is left
// when the lease ends (LeaseTTL after its statement, at once when the
// process stops: Close), in the statement of the next lease or one of its
// own.
//
// The budget stays one budget shared by every process: a lease comes out
// of the shared bucket, so at any instant the points granted by all
// processes together never exceed what the bucket held. The cost of a
// lease is overshoot over time: the shared bucket restores while a process
// still holds points it leased, so that within any interval of t seconds a
// key's processes may grant up to
//
//	Max + RestoreRate·t + P·Max/leaseShare
//
// points (P processes), where a single bucket grants Max + RestoreRate·t:
// a process never holds more than Max/leaseShare spendable points of a key
// (refunds beyond that are owed to the bucket, given back with the lease,
// not spent here). A process that dies loses what it held and owed, which
// the bucket restores within (Max/leaseShare + owed)/RestoreRate seconds.
//
// A lease is sized to the key's demand in this process: none beyond the
// take's own points at first, twice the last size each time a lease runs
// out before it ends, half when one ends with a rest, at most
// leaseRequests takes like the one asking and at most Max/leaseShare. A key
// asked once in a while takes its own points, as without leases (a refund
// it earned goes back in a statement of its own when the lease ends: at
// most one a key and LeaseTTL); a busy one costs a statement per up to
// leaseRequests requests.

// Lease bounds (see above).
const (
	leaseShare    = 10
	leaseRequests = 32
	// LeaseTTL is how long a lease lasts after the statement that
	// granted it.
	LeaseTTL = time.Second
	// maxLeases bounds the keys a process leases for; takes of further keys
	// go to the shared store.
	maxLeases = 10_000
	// giveBackTimeout bounds a give-back that no request waits for.
	giveBackTimeout = 10 * time.Second
)

// Leasing is a Store that keeps leases of a shared Store's buckets (see
// above). What it reports for a key (left, and so throttleStatus) is the
// shared bucket as this process last saw it in a statement, restored since
// at the budget's rate, plus what this process holds and owes for the key,
// at most Max: other processes' takes since that statement are not in it,
// and the points they hold are (as taken).
type Leasing struct {
	shared Store
	ttl    time.Duration

	mu     sync.Mutex
	leases map[string]*lease
	closed bool
}

// NewLeasing returns a Leasing of shared's buckets whose leases last ttl
// (0: LeaseTTL).
func NewLeasing(shared Store, ttl time.Duration) *Leasing {
	if ttl <= 0 {
		ttl = LeaseTTL
	}
	return &Leasing{shared: shared, ttl: ttl, leases: map[string]*lease{}}
}

// lease is what this process knows and holds of one key's bucket.
type lease struct {
	// turn (capacity 1) is held by whoever reads or changes the lease, for
	// the length of a statement too: the requests of a key wait for its
	// renewal rather than each send one.
	turn chan struct{}

	b     Budget
	known bool      // left and at describe the shared bucket
	left  float64   // the shared bucket's points after this process's last statement
	at    time.Time // that statement's clock
	until time.Time // the lease ends then, by the requests' clock
	held  float64   // leased, not spent: granted here without a statement
	owed  float64   // refunds over the lease's cap, given back with the next statement
	extra int       // points leased beyond the take that renews the lease

	// The lease ends on its own (timer) LeaseTTL after its statement by the
	// system's clock (renewed) and by the clock of the last request that
	// used it (now: clock.Source, which tests move; nil is the system's),
	// and gives back by the latter.
	timer   *time.Timer
	renewed time.Time
	now     func() time.Time

	// closed: Close has given the lease back; a take that found the lease
	// before Close and waited for its turn goes to the shared store, or it
	// would lease anew what nothing gives back but the timer.
	closed bool
}

// clock is the time of the lease's requests' clock.
func (l *lease) clock() time.Time {
	if l.now == nil {
		return time.Now().UTC()
	}
	return l.now().UTC()
}

func (l *lease) lock(ctx context.Context) error {
	select {
	case l.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *lease) unlock() { <-l.turn }

// estimate is the shared bucket at now as this process last saw it.
func (l *lease) estimate(now time.Time) float64 { return l.b.refill(l.left, l.at, now) }

// available is what this process reports for the key (see Leasing).
func (l *lease) available(now time.Time) float64 {
	return min(l.estimate(now)+l.held+l.owed, float64(l.b.Max))
}

// running reports whether the lease is still on for budget b at now.
func (l *lease) running(b Budget, now time.Time) bool {
	return l.known && l.b == b && now.Before(l.until)
}

// holdCap is the most spendable points a process holds of a bucket.
func holdCap(b Budget) float64 { return float64(b.Max / leaseShare) }

// resize sets the points to lease beyond a take of n (see Leasing).
func (l *lease) resize(b Budget, n int, ranOut bool) {
	if ranOut {
		l.extra = max(n, 2*l.extra)
	} else {
		l.extra /= 2
	}
	l.extra = max(0, min(l.extra, b.Max/leaseShare, leaseRequests*n))
}

// keep adds points given back by a request to the lease, over its cap to
// what is owed.
func (l *lease) keep(b Budget, points float64) {
	l.held += points
	if c := holdCap(b); l.held > c {
		l.owed = min(l.owed+l.held-c, float64(b.Max))
		l.held = c
	}
}

// lease returns key's lease, or nil when the process leases no more.
func (s *Leasing) lease(key string) *lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	l := s.leases[key]
	if l == nil {
		if len(s.leases) >= maxLeases {
			return nil
		}
		l = &lease{turn: make(chan struct{}, 1)}
		s.leases[key] = l
	}
	return l
}

// Take implements Store: from the key's lease when it holds n points, else
// in one statement that gives back the lease's rest and leases anew. A
// negative n (a refund) goes to the lease.
func (s *Leasing) Take(ctx context.Context, key string, b Budget, n int, now time.Time) (float64, bool, error) {
	l := s.lease(key)
	if l == nil {
		return s.shared.Take(ctx, key, b, n, now)
	}
	if err := l.lock(ctx); err != nil {
		return 0, false, err
	}
	if l.closed {
		l.unlock()
		return s.shared.Take(ctx, key, b, n, now)
	}
	defer l.unlock()
	l.now = clock.Source(ctx)
	switch {
	case n < 0 && l.known:
		l.keep(b, float64(-n))
		s.endLater(key, l)
		return l.available(now), true, nil
	case n >= 0 && l.running(b, now) && l.held >= float64(n):
		l.held -= float64(n)
		return l.available(now), true, nil
	}
	return s.renew(ctx, key, l, b, n, now)
}

// renew gives back the lease's rest and leases n and the lease's extra
// points, or at least n when the bucket turns out to hold less.
func (s *Leasing) renew(ctx context.Context, key string, l *lease, b Budget, n int, now time.Time) (float64, bool, error) {
	if n < 0 { // a refund before any statement of this process
		l.owed = min(l.owed-float64(n), float64(b.Max))
		n = 0
	}
	l.resize(b, n, l.running(b, now))
	want := n + l.extra
	if l.known && l.b == b {
		// Ask for no more than the bucket seems to hold, so that one
		// statement decides.
		if est := l.available(now); float64(want) > est {
			want = max(n, int(est))
		}
	}
	left, ok, err := s.exchange(ctx, key, b, l.held+l.owed, want, now)
	if err != nil {
		if RefundGiven(err) {
			l.held, l.owed = 0, 0
		}
		return 0, false, err
	}
	l.held, l.owed = 0, 0
	if !ok && want > n && left >= float64(n) {
		// Another process took what this one thought was there: the take's
		// own points, without extra.
		want = n
		if left, ok, err = s.shared.Take(ctx, key, b, n, now); err != nil {
			return 0, false, err
		}
	}
	l.b, l.known, l.left, l.at, l.until = b, true, left, now, now.Add(s.ttl)
	if ok {
		l.held = float64(want - n)
	}
	l.renewed = time.Now()
	s.endLater(key, l)
	return l.available(now), ok, nil
}

// exchange gives back back points and takes want, in one statement when
// the shared store is a Refunder.
func (s *Leasing) exchange(ctx context.Context, key string, b Budget, back float64, want int, now time.Time) (float64, bool, error) {
	if r, ok := s.shared.(Refunder); ok {
		return r.TakeRefunding(ctx, key, b, back, want, now)
	}
	if whole := int(math.Floor(back)); whole > 0 {
		if _, _, err := s.shared.Take(ctx, key, b, -whole, now); err != nil {
			return 0, false, err
		}
	}
	left, ok, err := s.shared.Take(ctx, key, b, want, now)
	if err != nil && back >= 1 {
		err = refundGiven{err}
	}
	return left, ok, err
}

// endLater makes sure a lease holding points ends on its own when no
// statement renews it (see end).
func (s *Leasing) endLater(key string, l *lease) {
	if l.held+l.owed <= 0 || l.timer != nil {
		return
	}
	l.timer = time.AfterFunc(s.ttl, func() { s.end(key, l) })
}

// end gives back the rest of a lease that no statement renewed for the
// lease's length, by the system's clock and by the requests'; a lease
// renewed meanwhile ends that long after.
func (s *Leasing) end(key string, l *lease) {
	ctx, cancel := context.WithTimeout(context.Background(), giveBackTimeout)
	defer cancel()
	if l.lock(ctx) != nil {
		return
	}
	defer l.unlock()
	l.timer = nil
	if !l.known || l.held+l.owed <= 0 {
		return
	}
	if rest := s.ttl - time.Since(l.renewed); rest > 0 {
		l.timer = time.AfterFunc(rest, func() { s.end(key, l) })
		return
	}
	if l.clock().Before(l.until) {
		// Not over by the requests' clock, which tests move (in production
		// it is this one): it ends when that clock says so.
		l.timer = time.AfterFunc(s.ttl, func() { s.end(key, l) })
		return
	}
	if err := s.giveBack(ctx, key, l); err != nil {
		// Kept: the next statement of the key, or Close, gives it back.
		l.timer = time.AfterFunc(s.ttl, func() { s.end(key, l) })
	}
}

// giveBack ends l, giving its rest back to the shared bucket by the clock
// of its requests. The caller holds l's turn.
func (s *Leasing) giveBack(ctx context.Context, key string, l *lease) error {
	now := l.clock()
	left, _, err := s.exchange(ctx, key, l.b, l.held+l.owed, 0, now)
	if err != nil {
		if RefundGiven(err) {
			l.held, l.owed = 0, 0
		}
		return err
	}
	l.held, l.owed = 0, 0
	l.left, l.at, l.until = left, now, now // ended: the next take renews
	return nil
}

// Close ends every lease, giving its rest back, and leases no more: takes
// go to the shared store. The server calls it when it stops.
func (s *Leasing) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	leases := s.leases
	s.leases = map[string]*lease{}
	s.mu.Unlock()
	var first error
	for key, l := range leases {
		if err := l.lock(ctx); err != nil {
			// Held by a take that outlived ctx: its points come back by the
			// lease's timer if the process lives that long; the others
			// still go back now.
			if first == nil {
				first = err
			}
			continue
		}
		l.closed = true
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
		if l.known && l.held+l.owed > 0 {
			if err := s.giveBack(ctx, key, l); err != nil && first == nil {
				first = err
			}
		}
		l.unlock()
	}
	return first
}
