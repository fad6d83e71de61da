package cost

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// A portal sends its requests from many connections at once, all paid from
// one key's bucket: on PostgreSQL each take was an UPSERT of the same row,
// so the requests of one key queued on that row's lock and every take left
// a dead row version behind (under 16 clients, about half of PostgreSQL's
// processor time per portal request went to that row). A coalescer lets
// the takes of one key that arrive while a statement for it is running
// wait for it and then go together in the next statement: one take of
// their sum. A batch is granted exactly when taking its takes one after
// the other would have granted them all, so nothing is granted that the
// bucket does not hold; when the bucket is short of the sum, each take of
// the batch runs on its own, in arrival order, as before. A key whose
// takes never overlap costs one statement per take, as before.

// takeFunc is one statement of a store: give back refund, then take n.
type takeFunc func(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error)

// coalescer batches the concurrent takes of each key (see above).
type coalescer struct {
	run takeFunc

	mu   sync.Mutex
	keys map[coalesceKey]*lane
}

// coalesceKey: only takes of the same bucket under the same budget go in
// one statement.
type coalesceKey struct {
	key string
	b   Budget
}

// lane is a key's running statement and the takes waiting for it.
type lane struct {
	waiting []*pendingTake
}

type pendingTake struct {
	ctx    context.Context
	refund float64
	n      int
	now    time.Time
	// done receives the take's answer.
	done chan takeResult
}

type takeResult struct {
	left float64
	ok   bool
	err  error
}

// maxBatch bounds the takes of one statement, so that a refused batch's
// takes one by one stay few.
const maxBatch = 64

// take gives back refund and takes n from key's bucket, in one statement of
// its own or of a batch.
func (c *coalescer) take(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	if n < 0 { // a plain refund: always taken, nothing to batch
		return c.run(ctx, key, b, refund, n, now)
	}
	k := coalesceKey{key, b}
	p := &pendingTake{ctx: ctx, refund: max(refund, 0), n: n, now: now, done: make(chan takeResult, 1)}
	c.mu.Lock()
	if c.keys == nil {
		c.keys = map[coalesceKey]*lane{}
	}
	l, running := c.keys[k]
	if !running {
		// Nothing runs for the key: this take runs now, alone.
		c.keys[k] = &lane{}
		c.mu.Unlock()
		c.serve(k, []*pendingTake{p})
	} else {
		l.waiting = append(l.waiting, p)
		c.mu.Unlock()
	}
	select {
	case r := <-p.done:
		return r.left, r.ok, r.err
	case <-ctx.Done():
	}
	// The request is over. A take still waiting leaves the lane: its refund
	// is not given back, and the caller owes it again. One already in a
	// batch gets the batch's answer, whatever its context says: the batch
	// may have given its refund back, and answering ctx.Err() would make
	// the caller owe it a second time. The batch's statement is bounded by
	// statementTimeout.
	c.mu.Lock()
	if l := c.keys[k]; l != nil {
		if i := slices.Index(l.waiting, p); i >= 0 {
			l.waiting = slices.Delete(l.waiting, i, i+1)
			c.mu.Unlock()
			return 0, false, ctx.Err()
		}
	}
	c.mu.Unlock()
	r := <-p.done
	return r.left, r.ok, r.err
}

// refundGiven marks the error of a take whose refund was given back before
// it failed: its caller must not owe the refund again.
type refundGiven struct{ error }

func (e refundGiven) Unwrap() error { return e.error }

// RefundGiven reports whether err, from a store's TakeRefunding, comes after
// the take's refund was given back.
func RefundGiven(err error) bool {
	var g refundGiven
	return errors.As(err, &g)
}

// serve runs batch, answers its takes, and hands the takes that queued
// meanwhile to a goroutine of their own, so that the caller who ran this
// batch is not kept waiting for the next.
func (c *coalescer) serve(k coalesceKey, batch []*pendingTake) {
	c.runBatch(k, batch)
	c.mu.Lock()
	l := c.keys[k]
	if len(l.waiting) == 0 {
		delete(c.keys, k)
		c.mu.Unlock()
		return
	}
	next := l.waiting[:min(len(l.waiting), maxBatch)]
	l.waiting = l.waiting[len(next):]
	c.mu.Unlock()
	go c.serve(k, next)
}

// runBatch takes the sum of the batch's takes in one statement; when the
// bucket is short of the sum, the takes go one by one.
func (c *coalescer) runBatch(k coalesceKey, batch []*pendingTake) {
	if len(batch) == 1 {
		p := batch[0]
		left, ok, err := c.run(p.ctx, k.key, k.b, p.refund, p.n, p.now)
		p.done <- takeResult{left, ok, err}
		return
	}
	var refund float64
	var sum int
	now := batch[0].now
	for _, p := range batch {
		refund += p.refund
		sum += p.n
		if p.now.After(now) {
			now = p.now // what restored by the latest clock is there for all
		}
	}
	// The statement serves several requests: none of their cancellations
	// may fail the others'.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(batch[0].ctx), statementTimeout)
	defer cancel()
	left, ok, err := c.run(ctx, k.key, k.b, refund, sum, now)
	switch {
	case err != nil:
		for _, p := range batch {
			p.done <- takeResult{err: err}
		}
	case ok:
		// Each take's answer is what it would have left, taken in turn:
		// the later takes' points were still there.
		after := float64(sum)
		for _, p := range batch {
			after -= float64(p.n)
			p.done <- takeResult{left: left + after, ok: true}
		}
	default:
		// Short of the sum: the refunds are given back; now each take on
		// its own, as if the batch had never met.
		for _, p := range batch {
			left, ok, err := c.run(p.ctx, k.key, k.b, 0, p.n, p.now)
			if err != nil && p.refund > 0 {
				err = refundGiven{err} // by the batch's statement
			}
			p.done <- takeResult{left, ok, err}
		}
	}
}

// statementTimeout bounds a batch's statement, which no single request's
// context bounds.
const statementTimeout = 10 * time.Second
