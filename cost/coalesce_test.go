package cost

import (
	"context"
	"sync"
	"testing"
	"time"
)

// gatedStore is a store whose first statement waits for a gate, so that a
// test can queue takes behind it; it counts its statements.
type gatedStore struct {
	mem   *Memory
	gate  chan struct{}
	mu    sync.Mutex
	calls []int // n of each statement, in order
}

func (g *gatedStore) run(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	g.mu.Lock()
	first := len(g.calls) == 0
	g.calls = append(g.calls, n)
	g.mu.Unlock()
	if first {
		<-g.gate
	}
	return g.mem.TakeRefunding(ctx, key, b, refund, n, now)
}

// queueBehind starts a take of first (held at the gate) and takes of ns
// behind it, and returns once they are all queued; wait returns their
// answers, in arrival order, once the gate is open.
func queueBehind(t *testing.T, c *coalescer, b Budget, first int, ns []int) (wait func() (takeResult, []takeResult)) {
	t.Helper()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	var head takeResult
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		head.left, head.ok, head.err = c.take(context.Background(), "k", b, 0, first, at)
	}()
	waiting := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l := c.keys[coalesceKey{"k", b}]; l != nil {
			return len(l.waiting)
		}
		return -1
	}
	for waiting() < 0 { // the head's statement has started
		time.Sleep(time.Millisecond)
	}
	out := make([]takeResult, len(ns))
	for i, n := range ns { // one at a time, so that the order is known
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &out[i]
			r.left, r.ok, r.err = c.take(context.Background(), "k", b, 0, n, at)
		}()
		for waiting() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	return func() (takeResult, []takeResult) {
		wg.Wait()
		return head, out
	}
}

// TestCoalescedTakesGoInOneStatement: takes of one key that arrive while a
// statement for it runs go together in the next one, each answered with
// what it would have left taken in turn.
func TestCoalescedTakesGoInOneStatement(t *testing.T) {
	g := &gatedStore{mem: NewMemory(), gate: make(chan struct{})}
	c := &coalescer{run: g.run}
	b := Budget{Max: 100, RestoreRate: 0}
	wait := queueBehind(t, c, b, 10, []int{10, 10, 10, 10, 10, 10, 10, 10, 10})
	close(g.gate)
	head, rest := wait()
	waitIdle(t, c)
	if len(g.calls) != 2 || g.calls[0] != 10 || g.calls[1] != 90 {
		t.Fatalf("statements took %v, want [10 90]: the nine queued takes in one", g.calls)
	}
	if !head.ok || head.left != 90 {
		t.Fatalf("the first take: %+v, want 90 left", head)
	}
	for i, r := range rest {
		if want := float64(80 - 10*i); !r.ok || r.err != nil || r.left != want {
			t.Fatalf("queued take %d: %+v, want granted with %.0f left", i, r, want)
		}
	}
}

// TestCoalescedTakesShortOfTheSumGoOneByOne: a batch the bucket cannot pay
// in full is not granted in part: its takes run one by one, so exactly
// those that one-after-the-other takes would grant are granted.
func TestCoalescedTakesShortOfTheSumGoOneByOne(t *testing.T) {
	g := &gatedStore{mem: NewMemory(), gate: make(chan struct{})}
	c := &coalescer{run: g.run}
	b := Budget{Max: 100, RestoreRate: 0}
	wait := queueBehind(t, c, b, 50, []int{20, 20, 20})
	close(g.gate)
	head, rest := wait()
	waitIdle(t, c)
	if want := []int{50, 60, 20, 20, 20}; !equal(g.calls, want) {
		t.Fatalf("statements took %v, want %v", g.calls, want)
	}
	if !head.ok || head.left != 50 {
		t.Fatalf("the first take: %+v", head)
	}
	want := []takeResult{{left: 30, ok: true}, {left: 10, ok: true}, {left: 10, ok: false}}
	for i := range want {
		if rest[i] != want[i] {
			t.Fatalf("queued take %d: %+v, want %+v", i, rest[i], want[i])
		}
	}
}

// waitIdle waits until the coalescer has no statement running.
func waitIdle(t *testing.T, c *coalescer) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.mu.Lock()
		idle := len(c.keys) == 0
		c.mu.Unlock()
		if idle {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a statement is still running")
		}
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// refundStore is a store that records the refunds its statements give back
// and fails the statements after the first when told to; its first
// statement waits for a gate.
type refundStore struct {
	gate chan struct{}
	mu   sync.Mutex
	n    int
	fail bool // statements after the first fail
	// refunds given back by the statements that ran
	refunds float64
}

func (s *refundStore) run(ctx context.Context, key string, b Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	s.mu.Lock()
	s.n++
	first := s.n == 1
	s.mu.Unlock()
	if first {
		<-s.gate
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err // database/sql refuses an ended context
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !first && s.fail && refund == 0 && n > 0 {
		return 0, false, context.DeadlineExceeded
	}
	s.refunds += refund
	return 0, n <= 10, nil // a bucket of 10: a batch of more is refused
}

// TestCoalescedCancelledWaiterRefundIsNotGivenBack: a take whose request
// ends while it waits for a batch leaves it: its refund is not given back,
// so the caller that owes it again owes it once (before, the batch gave it
// back and the caller owed it again: a key gained points it never earned).
func TestCoalescedCancelledWaiterRefundIsNotGivenBack(t *testing.T) {
	s := &refundStore{gate: make(chan struct{})}
	c := &coalescer{run: s.run}
	b := Budget{Max: 1000, RestoreRate: 0}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	head := make(chan error, 1)
	go func() { _, _, err := c.take(context.Background(), "k", b, 0, 1, at); head <- err }()
	waiting := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		if l := c.keys[coalesceKey{"k", b}]; l != nil {
			return len(l.waiting)
		}
		return -1
	}
	for waiting() < 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { _, _, err := c.take(ctx, "k", b, 50, 1, at); cancelled <- err }()
	for waiting() < 1 {
		time.Sleep(time.Millisecond)
	}
	other := make(chan takeResult, 1)
	go func() {
		var r takeResult
		r.left, r.ok, r.err = c.take(context.Background(), "k", b, 7, 1, at)
		other <- r
	}()
	for waiting() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	err := <-cancelled
	if err == nil || RefundGiven(err) {
		t.Fatalf("the cancelled take answered %v, want its context's error with the refund not given", err)
	}
	close(s.gate)
	if err := <-head; err != nil {
		t.Fatal(err)
	}
	if r := <-other; r.err != nil || !r.ok {
		t.Fatalf("the other queued take: %+v", r)
	}
	waitIdle(t, c)
	if s.refunds != 7 {
		t.Fatalf("the statements gave back %v points, want 7: only the take still waiting", s.refunds)
	}
}

// TestCoalescedRefusedBatchFailureSaysRefundGiven: when a refused batch's
// takes go one by one, the batch's statement has already given their
// refunds back; one that then fails says so, and the Limiter does not owe
// that refund again.
func TestCoalescedRefusedBatchFailureSaysRefundGiven(t *testing.T) {
	s := &refundStore{gate: make(chan struct{}), fail: true}
	c := &coalescer{run: s.run}
	b := Budget{Max: 1000, RestoreRate: 0}
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	head := make(chan error, 1)
	go func() { _, _, err := c.take(context.Background(), "k", b, 0, 1, at); head <- err }()
	for {
		c.mu.Lock()
		l := c.keys[coalesceKey{"k", b}]
		c.mu.Unlock()
		if l != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	res := make(chan error, 2)
	for _, refund := range []float64{30, 0} {
		go func() { _, _, err := c.take(context.Background(), "k", b, refund, 6, at); res <- err }()
		for {
			c.mu.Lock()
			n := len(c.keys[coalesceKey{"k", b}].waiting)
			c.mu.Unlock()
			if n == 1 && refund == 30 || n == 2 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(s.gate)
	<-head
	var given, plain int
	for range 2 {
		err := <-res
		switch {
		case err == nil:
			t.Fatal("a take of the refused batch succeeded, though the store fails them")
		case RefundGiven(err):
			given++
		default:
			plain++
		}
	}
	if given != 1 || plain != 1 {
		t.Fatalf("errors: %d say the refund was given, %d do not; want 1 and 1 (only the take with a refund)", given, plain)
	}
	if s.refunds != 30 {
		t.Fatalf("refunds given back %v, want 30 (by the batch's statement, once)", s.refunds)
	}
}
