package cost_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/clock"
	"estatecrm/cost"
)

// counting counts the calls a Leasing makes to its shared store: each is
// one statement of the PostgreSQL store.
type counting struct {
	cost.Store
	n atomic.Int64
}

func (s *counting) Take(ctx context.Context, key string, b cost.Budget, n int, now time.Time) (float64, bool, error) {
	s.n.Add(1)
	return s.Store.Take(ctx, key, b, n, now)
}

// countingRefunder keeps the shared store's one-statement give-back.
type countingRefunder struct{ counting }

func (s *countingRefunder) TakeRefunding(ctx context.Context, key string, b cost.Budget, refund float64, n int, now time.Time) (float64, bool, error) {
	s.n.Add(1)
	return s.Store.(cost.Refunder).TakeRefunding(ctx, key, b, refund, n, now)
}

func countingStore(s cost.Store) (cost.Store, *atomic.Int64) {
	if _, ok := s.(cost.Refunder); ok {
		c := &countingRefunder{counting{Store: s}}
		return c, &c.n
	}
	c := &counting{Store: s}
	return c, &c.n
}

// bucketLeft reads the shared bucket (a take of 0) at now.
func bucketLeft(t *testing.T, s cost.Store, key string, b cost.Budget, now time.Time) float64 {
	t.Helper()
	left, ok, err := s.Take(context.Background(), key, b, 0, now)
	if err != nil || !ok {
		t.Fatalf("read the bucket: %v %v", ok, err)
	}
	return left
}

func near(a, b float64) bool { return math.Abs(a-b) < 0.01 }

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// TestLeasesGrantNoMoreThanTheBucket: two processes leasing one key's
// bucket, 16 clients each taking 7 points at one instant until refused,
// are granted together at most the bucket's 1,000 points; once both have
// closed (their leases given back), the bucket holds exactly what was not
// granted: nothing was lost.
func TestLeasesGrantNoMoreThanTheBucket(t *testing.T) {
	for name, shared := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := uniqueKey(t, name)
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			procs := []*cost.Leasing{cost.NewLeasing(shared, time.Hour), cost.NewLeasing(shared, time.Hour)}
			var granted atomic.Int64
			var wg sync.WaitGroup
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := procs[i%2]
					for {
						_, ok, err := p.Take(context.Background(), key, b, 7, t0)
						if err != nil {
							t.Error(err)
							return
						}
						if !ok {
							return
						}
						granted.Add(7)
					}
				}()
			}
			wg.Wait()
			if g := granted.Load(); g > 1000 || g < 1000-7*16 {
				t.Fatalf("granted %d points of a bucket of 1,000 at one instant", g)
			}
			for _, p := range procs {
				if err := p.Close(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if left := bucketLeft(t, shared, key, b, t0); !near(left, float64(1000-granted.Load())) {
				t.Fatalf("after both closed the bucket holds %.2f, want 1,000 − %d granted", left, granted.Load())
			}
		})
	}
}

// TestLeaseOvershootIsBounded: two processes take a hundredth of the
// budget at a time over 3 seconds, 10 ms steps: one 30 takes at the 10th
// and 30th steps of each second and 3 at the 40th, the other greedily (until
// refused) every 3rd step of the first quarter, before the other, so that
// the first holds a lease through the pause and spends it after the
// second has emptied the refilled bucket. In every interval, what they were granted is at
// most what a single bucket could grant (Max + RestoreRate × its length)
// plus each process's lease cap (Max/10). A bucket that refills within the
// pauses (100 at 500 a second) shows the overshoot; one that does not
// (1,000 at 50) shows none, and the leases starve no one: the greedy
// process leaves little ungranted.
func TestLeaseOvershootIsBounded(t *testing.T) {
	for name, shared := range stores(t) {
		for _, c := range []struct {
			b         cost.Budget
			overshoot bool
		}{{cost.Budget{Max: 1000, RestoreRate: 50}, false}, {cost.Budget{Max: 100, RestoreRate: 500}, true}} {
			t.Run(fmt.Sprintf("%s/%d at %d a second", name, c.b.Max, c.b.RestoreRate), func(t *testing.T) {
				key := uniqueKey(t, name)
				const procs, steps, step = 2, 300, 10 * time.Millisecond
				n, leaseCap := c.b.Max/100, float64(c.b.Max/10)
				ps := []*cost.Leasing{cost.NewLeasing(shared, time.Second), cost.NewLeasing(shared, time.Second)}
				t.Cleanup(func() {
					for _, p := range ps {
						p.Close(context.Background())
					}
				})
				take := func(p *cost.Leasing, now time.Time) bool {
					_, ok, err := p.Take(context.Background(), key, c.b, n, now)
					if err != nil {
						t.Fatal(err)
					}
					return ok
				}
				var grants [steps]int // points granted at each step
				for i := range steps {
					if i%100 >= 50 {
						continue
					}
					now := t0.Add(time.Duration(i) * step)
					if i%3 == 1 && i%100 < 25 {
						for take(ps[1], now) {
							grants[i] += n
						}
					}
					if k := map[int]int{10: 30, 30: 30, 40: 3}[i%100]; k > 0 {
						for range k {
							if take(ps[0], now) {
								grants[i] += n
							}
						}
					}
				}
				overshot := false
				for from := range steps {
					sum := 0
					for to := from; to < steps; to++ {
						sum += grants[to]
						single := float64(c.b.Max) + float64(c.b.RestoreRate)*(time.Duration(to-from)*step).Seconds()
						if float64(sum) > single+procs*leaseCap+0.01 {
							t.Fatalf("steps %d–%d: granted %d, over %.0f + %d × %.0f", from, to, sum, single, procs, leaseCap)
						}
						overshot = overshot || float64(sum) > single+0.01
					}
				}
				if overshot != c.overshoot {
					t.Fatalf("granted more than a single bucket could in some interval: %v, want %v", overshot, c.overshoot)
				}
				total := 0
				for _, g := range grants {
					total += g
				}
				// The bucket restores 50 a second; the last pause's half
				// second and what the leases hold are left ungranted.
				if least := float64(c.b.Max) + float64(c.b.RestoreRate)*2.49 - procs*(leaseCap+float64(n)); !c.overshoot && float64(total) < least {
					t.Fatalf("granted %d over 3 s, want at least %.0f: leases starve the key", total, least)
				}
			})
		}
	}
}

// TestLeaseEndGivesBackItsRest: a process that took twice holds a lease
// beyond what it spent; the shared bucket lacks it until the lease ends,
// by itself (its length passed) or when the process closes, and then
// holds exactly what was not spent.
func TestLeaseEndGivesBackItsRest(t *testing.T) {
	for name, shared := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			for _, how := range []string{"its length passed", "closed"} {
				key := uniqueKey(t, name+how)
				ttl := time.Hour
				if how == "its length passed" {
					ttl = 50 * time.Millisecond
				}
				p := cost.NewLeasing(shared, ttl)
				// The lease ends by its requests' clock too, and gives back
				// by it.
				var at atomic.Int64
				at.Store(t0.UnixNano())
				now := func() time.Time { return time.Unix(0, at.Load()).UTC() }
				ctx := clock.NewContext(context.Background(), now)
				for range 2 { // the second take finds the lease run out: it leases 10 more
					if _, ok, err := p.Take(ctx, key, b, 10, t0); err != nil || !ok {
						t.Fatalf("take: %v %v", ok, err)
					}
				}
				if left := bucketLeft(t, shared, key, b, t0); !near(left, 970) {
					t.Fatalf("%s: the bucket holds %.2f while the lease is on, want 1,000 − 20 spent − 10 leased", how, left)
				}
				if how == "closed" {
					if err := p.Close(ctx); err != nil {
						t.Fatal(err)
					}
				} else {
					time.Sleep(3 * ttl)
					if left := bucketLeft(t, shared, key, b, t0); !near(left, 970) {
						t.Fatalf("the lease ended by the system's clock but not by its requests': the bucket holds %.2f, want 970", left)
					}
					at.Store(t0.Add(ttl).UnixNano()) // + 2.5 restored
					deadline := time.Now().Add(5 * time.Second)
					for !near(bucketLeft(t, shared, key, b, now()), 982.5) && time.Now().Before(deadline) {
						time.Sleep(20 * time.Millisecond)
					}
				}
				want := 980.0
				if how != "closed" {
					want = 982.5
				}
				if left := bucketLeft(t, shared, key, b, now()); !near(left, want) {
					t.Fatalf("%s: the bucket holds %.2f after the lease ended, want %.1f", how, left, want)
				}
				p.Close(ctx)
			}
		})
	}
}

// TestLeaseOfADeadProcessIsLostAtMost: a process that dies holding a lease
// (never closed) takes its lease with it, no more: another process sees the
// bucket short by what the dead one spent and held, and full again once
// that is restored.
func TestLeaseOfADeadProcessIsLostAtMost(t *testing.T) {
	for name, shared := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := uniqueKey(t, name)
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			dead := cost.NewLeasing(shared, time.Hour)
			ctx := context.Background()
			// Leases of 10, then 10, 20 and 40 beyond the take that asked:
			// 7 takes spend 70 and leave 40 held.
			for range 7 {
				if _, ok, err := dead.Take(ctx, key, b, 10, t0); err != nil || !ok {
					t.Fatalf("take: %v %v", ok, err)
				}
			}
			other := cost.NewLeasing(shared, time.Hour)
			defer other.Close(ctx)
			left, ok, err := other.Take(ctx, key, b, 0, t0)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if !near(left, 1000-70-40) {
				t.Fatalf("the other process sees %.2f, want 1,000 − 70 spent − 40 held by the dead one", left)
			}
			if left := bucketLeft(t, shared, key, b, t0.Add(2*time.Second)); !near(left, 990) {
				t.Fatalf("2 s later the bucket holds %.2f, want 890 + 100 restored", left)
			}
			// 110 points at 50 a second: full after 2.2 s.
			if left := bucketLeft(t, shared, key, b, t0.Add(2200*time.Millisecond)); !near(left, 1000) {
				t.Fatalf("2.2 s later the bucket holds %.2f, want it full", left)
			}
		})
	}
}

// TestLeaseSavesStatements: a busy key costs one statement per lease, not
// per take: 200 takes of 10 from a large budget, with refunds, in a few
// statements; refunds cost none; the reported points are the bucket's as
// this process knows it plus what it holds.
func TestLeaseSavesStatements(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := uniqueKey(t, name)
			shared, statements := countingStore(s)
			p := cost.NewLeasing(shared, time.Hour)
			defer p.Close(context.Background())
			b := cost.Budget{Max: 1_000_000, RestoreRate: 1000}
			ctx := context.Background()
			var left float64
			for i := range 200 {
				var ok bool
				var err error
				if left, ok, err = p.Take(ctx, key, b, 10, t0); err != nil || !ok {
					t.Fatalf("take %d: %v %v", i, ok, err)
				}
				before := statements.Load()
				if left, ok, err = p.Take(ctx, key, b, -4, t0); err != nil || !ok {
					t.Fatalf("refund %d: %v %v", i, ok, err)
				}
				if statements.Load() != before {
					t.Fatal("a refund sent a statement")
				}
			}
			// Leases of 10, 20, 40, 80, 160, then 320 (32 takes): the 200
			// takes (with refunds making each cost 6) fit in about 10.
			limit := int64(12)
			if _, ok := s.(cost.Refunder); !ok {
				limit *= 2 // a give-back and a take in two
			}
			if n := statements.Load(); n > limit {
				t.Fatalf("200 takes sent %d statements to the shared store", n)
			}
			if !near(left, 1_000_000-200*6) {
				t.Fatalf("reported %.2f, want 1,000,000 − 200 × 6", left)
			}
		})
	}
}

// gated is a shared store whose takes wait for open while armed.
type gated struct {
	cost.Store
	armed atomic.Bool
	open  chan struct{}
}

func (g *gated) Take(ctx context.Context, key string, b cost.Budget, n int, now time.Time) (float64, bool, error) {
	if g.armed.Load() {
		<-g.open
	}
	return g.Store.Take(ctx, key, b, n, now)
}

// TestLeaseClosedWhileATakeWaits: Close, called while a renewal is in
// flight and a take waits behind it for the lease's turn, waits for both
// and gives back what is left: the bucket ends exactly short of the three
// takes' 30 points, nothing held back for the lease's timer. (A take that
// found the lease before Close but reached its turn after Close pays the
// shared bucket, lease.closed; goroutines queue on the turn in order, so
// that interleaving is not one a test can force.)
func TestLeaseClosedWhileATakeWaits(t *testing.T) {
	for name, shared := range stores(t) {
		t.Run(name, func(t *testing.T) {
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			// The requests' clock stands still: the lease gives back by it.
			ctx := clock.NewContext(context.Background(), func() time.Time { return t0 })
			for i := range 8 {
				key := uniqueKey(t, fmt.Sprint(name, i))
				g := &gated{Store: shared, open: make(chan struct{})}
				p := cost.NewLeasing(g, time.Hour)
				if _, ok, err := p.Take(ctx, key, b, 10, t0); err != nil || !ok {
					t.Fatalf("take: %v %v", ok, err)
				}
				g.armed.Store(true)
				var wg sync.WaitGroup
				take := func() {
					defer wg.Done()
					if _, ok, err := p.Take(ctx, key, b, 10, t0); err != nil || !ok {
						t.Errorf("take: %v %v", ok, err)
					}
				}
				wg.Add(3)
				go take() // renews the lease: holds its turn in the gated store
				time.Sleep(20 * time.Millisecond)
				go take() // waits for the turn
				go func() {
					defer wg.Done()
					if err := p.Close(ctx); err != nil {
						t.Errorf("close: %v", err)
					}
				}()
				time.Sleep(20 * time.Millisecond)
				g.armed.Store(false)
				close(g.open)
				wg.Wait()
				if left := bucketLeft(t, shared, key, b, t0); !near(left, 970) {
					t.Fatalf("round %d: the bucket holds %.2f after Close, want 1,000 − 30 taken", i, left)
				}
			}
		})
	}
}
