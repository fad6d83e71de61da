// Package cost keeps each portal key within a budget of query-cost points
// shared by every server process, the way Shopify and GitHub limit their
// GraphQL APIs: an operation's cost is computed from the parsed document
// before it runs (Requested), taken from the key's bucket, and what the
// answer did not use (Actual) is given back.
//
// The cost of an operation is the number of objects its answer can hold:
// every field whose value is an object (a selection set) costs 1, scalars
// and enums cost 0, and a connection, or a list taking `first`/`last`,
// multiplies the cost of its items by its page size (DefaultPageSize when
// it is given none). A list of objects without a page size counts as one
// item. Every operation costs at least 1. The actual cost counts the
// objects the answer holds, at most the requested cost: a client never pays
// more than it was told before the operation ran.
//
// A bucket holds at most Budget.Max points and gains Budget.RestoreRate a
// second; a bucket never seen is full. Stores: Memory (one process),
// Postgres (one UPSERT statement, shared by every process) and Leasing over
// a shared store (a process leases slices of a bucket, so that most takes
// send no statement; see lease.go).
package cost

import (
	"context"
	"math"
	"sync"
	"time"
)

// Default budget of a portal key (ent's defaults for api_keys).
const (
	DefaultMax         = 1000
	DefaultRestoreRate = 50
)

// Budget is a bucket's size and how fast it fills.
type Budget struct {
	// Max is the most points the bucket holds, and the largest cost an
	// operation may request.
	Max int
	// RestoreRate is the points restored each second.
	RestoreRate int
}

// Status is a bucket's state as reported to the client
// (extensions.cost.throttleStatus).
type Status struct {
	MaximumAvailable   int `json:"maximumAvailable"`
	CurrentlyAvailable int `json:"currentlyAvailable"`
	RestoreRate        int `json:"restoreRate"`
}

// Store keeps the buckets.
type Store interface {
	// Take takes n points from key's bucket (budget b, at time now) if it
	// holds them, and otherwise takes nothing. It returns the points left
	// and whether they were taken. A negative n gives points back, up to
	// b.Max, and is always taken.
	Take(ctx context.Context, key string, b Budget, n int, now time.Time) (left float64, ok bool, err error)
}

// Refunder is a Store that gives points back in the statement of the key's
// next take rather than in one of their own: the Limiter keeps, per process
// and per key, what answers did not use, and hands it to the next take of
// that key (see Limiter).
type Refunder interface {
	Store
	// TakeRefunding gives refund (≥ 0) points back to key's bucket, up to
	// b.Max, and then takes n as Take does. The refund is kept even when n
	// is not taken.
	TakeRefunding(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (left float64, ok bool, err error)
}

// Wait is how long a bucket holding left points takes to hold n.
func (b Budget) Wait(left float64, n int) time.Duration {
	missing := float64(n) - left
	if missing <= 0 || b.RestoreRate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(b.RestoreRate) * float64(time.Second)))
}

// Status reports a bucket holding left points.
func (b Budget) Status(left float64) Status {
	return Status{MaximumAvailable: b.Max, CurrentlyAvailable: int(math.Floor(left)), RestoreRate: b.RestoreRate}
}

// refill is the points of a bucket that held tokens at `at`, at now.
func (b Budget) refill(tokens float64, at, now time.Time) float64 {
	if el := now.Sub(at).Seconds(); el > 0 {
		tokens += el * float64(b.RestoreRate)
	}
	return min(tokens, float64(b.Max))
}

// Memory is a Store in the memory of one process: the embedded server's.
type Memory struct {
	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewMemory returns an empty Memory store.
func NewMemory() *Memory { return &Memory{m: map[string]*bucket{}} }

// Take implements Store.
func (s *Memory) Take(ctx context.Context, key string, b Budget, n int, now time.Time) (float64, bool, error) {
	return s.TakeRefunding(ctx, key, b, 0, n, now)
}

// TakeRefunding implements Refunder.
func (s *Memory) TakeRefunding(_ context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.m[key]
	if k == nil {
		k = &bucket{tokens: float64(b.Max), at: now}
		s.m[key] = k
	}
	k.tokens = b.refill(k.tokens+max(refund, 0), k.at, now)
	if now.After(k.at) {
		k.at = now
	}
	if k.tokens < float64(n) {
		return k.tokens, false, nil
	}
	k.tokens = min(k.tokens-float64(n), float64(b.Max))
	return k.tokens, true, nil
}

type payerKey struct{}

// Payer is who pays for a request's operations: a bucket key and its budget.
type Payer struct {
	Key    string
	Budget Budget
}

// NewContext returns ctx whose operations are paid by p.
func NewContext(ctx context.Context, p Payer) context.Context {
	return context.WithValue(ctx, payerKey{}, p)
}

// FromContext returns the payer of ctx's operations; none means they are
// free (staff, limited by requests instead).
func FromContext(ctx context.Context) (Payer, bool) {
	p, ok := ctx.Value(payerKey{}).(Payer)
	return p, ok
}
