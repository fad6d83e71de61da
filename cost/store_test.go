package cost_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"estatecrm/cost"
	"estatecrm/database/dbtest"
)

// stores returns the stores to test: memory always, PostgreSQL with
// TEST_DATABASE_URL, Redis with TEST_REDIS_URL (e.g. redis://127.0.0.1:6379).
// Each Redis test uses keys of its own, so tests do not share buckets.
func stores(t testing.TB) map[string]cost.Store {
	s := map[string]cost.Store{"memory": cost.NewMemory()}
	if dbtest.OnPostgres() {
		s["postgres"] = cost.NewPostgres(dbtest.Open(t).SQL)
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("TEST_REDIS_URL: %v", err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		s["redis"] = NewRedis(c)
	}
	return s
}

// uniqueKey keeps buckets of runs apart in a shared Redis.
func uniqueKey(t testing.TB, name string) string {
	return fmt.Sprintf("test:%s:%s:%d", t.Name(), name, time.Now().UnixNano())
}

// TestStoresTakeRestoreRefund: a bucket starts full, takes only what it
// holds, restores at its rate by the injected clock (never past its max,
// never backwards), and takes refunds up to its max; a smaller budget applies
// at once.
func TestStoresTakeRestoreRefund(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			key := uniqueKey(t, name)
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			step := func(what string, n int, at time.Time, wantLeft float64, wantOK bool) {
				t.Helper()
				left, ok, err := s.Take(ctx, key, b, n, at)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if ok != wantOK || left < wantLeft-0.01 || left > wantLeft+0.01 {
					t.Fatalf("%s: got left %.3f taken %v, want %.3f %v", what, left, ok, wantLeft, wantOK)
				}
			}
			step("a new bucket is full", 600, t0, 400, true)
			step("more than it holds: nothing taken", 500, t0, 400, false)
			if w := b.Wait(400, 500); w != 2*time.Second {
				t.Fatalf("wait for 100 points at 50/s: %v", w)
			}
			step("1.5 s later, 75 restored: still short", 500, t0.Add(1500*time.Millisecond), 475, false)
			step("2 s later it holds 500", 500, t0.Add(2*time.Second), 0, true)
			step("a clock behind the bucket's restores nothing", 1, t0.Add(time.Second), 0, false)
			step("a refund", -300, t0.Add(2*time.Second), 300, true)
			step("a refund stops at the max", -5000, t0.Add(2*time.Second), 1000, true)
			step("an hour later it is still full", 0, t0.Add(time.Hour), 1000, true)
			b = cost.Budget{Max: 100, RestoreRate: 5}
			step("a smaller budget applies at once", 10, t0.Add(time.Hour), 90, true)
			step("and restores at its own rate: 90 + 2 s × 5 = 100", 100, t0.Add(time.Hour+2*time.Second), 0, true)
		})
	}
}

// TestStoresAreAtomic: 60 concurrent takes of 30 points from a bucket of
// 1,000 at one instant: exactly 33 are granted, whatever the interleaving.
func TestStoresAreAtomic(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			key := uniqueKey(t, name)
			b := cost.Budget{Max: 1000, RestoreRate: 50}
			at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			var granted atomic.Int64
			var wg sync.WaitGroup
			for range 60 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, ok, err := s.Take(context.Background(), key, b, 30, at)
					if err != nil {
						t.Error(err)
					}
					if ok {
						granted.Add(1)
					}
				}()
			}
			wg.Wait()
			if granted.Load() != 33 {
				t.Fatalf("%d takes of 30 granted from 1,000 points, want 33", granted.Load())
			}
		})
	}
}

// BenchmarkStores measures one take and one refund (what a portal request
// costs the store) on each store, from one client and from many at once,
// on one key (every request of a single portal: one hot row) and on 100
// keys. PostgreSQL with TEST_DATABASE_URL, Redis with TEST_REDIS_URL:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	TEST_REDIS_URL=redis://127.0.0.1:6379 go test ./cost -run '^$' -bench Stores
func BenchmarkStores(b *testing.B) {
	for name, s := range stores(b) {
		budget := cost.Budget{Max: 1 << 30, RestoreRate: 1 << 20}
		for _, keys := range []int{1, 100} {
			prefix := uniqueKey(b, name)
			b.Run(fmt.Sprintf("%s/serial/keys=%d", name, keys), func(b *testing.B) {
				ctx := context.Background()
				i := 0
				for b.Loop() {
					key := fmt.Sprintf("%s:%d", prefix, i%keys)
					i++
					if _, _, err := s.Take(ctx, key, budget, 10, time.Now()); err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.Take(ctx, key, budget, -5, time.Now()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(fmt.Sprintf("%s/parallel16/keys=%d", name, keys), func(b *testing.B) {
				ctx := context.Background()
				var n atomic.Int64
				b.SetParallelism(8) // 16 clients on 2 cores
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						key := fmt.Sprintf("%s:%d", prefix, n.Add(1)%int64(keys))
						if _, _, err := s.Take(ctx, key, budget, 10, time.Now()); err != nil {
							b.Fatal(err)
						}
						if _, _, err := s.Take(ctx, key, budget, -5, time.Now()); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}
