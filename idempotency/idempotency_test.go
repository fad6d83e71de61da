package idempotency_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/idempotencykey"
	"estatecrm/idempotency"
)

func newKeys(t *testing.T, lease time.Duration) (*idempotency.Keys, *ent.Client, context.Context) {
	t.Helper()
	client := dbtest.Open(t).Client()
	keys := idempotency.New(client, nil)
	keys.Lease = lease
	return keys, client, auth.SystemContext(context.Background())
}

// A claim whose run died (nothing renews its lease) is taken over by one
// retry once the lease lapsed; the run that lost it can no longer store its
// answer, so its transaction cannot commit: the mutation happens once.
func TestClaimOfADeadRunIsTakenOverOnce(t *testing.T) {
	// Long enough that the winner's own claim does not lapse (nothing renews
	// it here) before all eight retries looked, on a busy machine.
	const lease = 2 * time.Second
	keys, client, ctx := newKeys(t, lease)
	dead, _, err := keys.Acquire(ctx, "US1", "k1", "h1")
	if err != nil || dead == nil {
		t.Fatalf("first claim: %v, %v", dead, err)
	}
	if c, rec, err := keys.Acquire(ctx, "US1", "k1", "h1"); err != nil || c != nil || rec.Response != nil {
		t.Fatalf("a retry within the lease: claim %v, err %v; want to wait", c, err)
	}
	time.Sleep(lease + 100*time.Millisecond)

	claims := make(chan *idempotency.Claim, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _, err := keys.Acquire(ctx, "US1", "k1", "h1")
			if err != nil {
				t.Error(err)
			}
			if c != nil {
				claims <- c
			}
		}()
	}
	wg.Wait()
	close(claims)
	if len(claims) != 1 {
		t.Fatalf("%d retries took the lapsed claim over, want 1", len(claims))
	}
	winner := <-claims

	// The dead run, had it only stalled, cannot store its answer.
	tx, err := client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := keys.Store(ctx, tx.Client(), dead, []byte(`{"data":"stale"}`)); !errors.Is(err, idempotency.ErrClaimLost) {
		t.Fatalf("storing the answer of a claim taken over: %v, want ErrClaimLost", err)
	}
	_ = tx.Rollback()
	if err := keys.Store(ctx, client, winner, []byte(`{"data":"fresh"}`)); err != nil {
		t.Fatal(err)
	}
	_, rec, err := keys.Acquire(ctx, "US1", "k1", "h1")
	if err != nil || rec == nil || rec.Response == nil || *rec.Response != `{"data":"fresh"}` {
		t.Fatalf("after the retry answered: %+v, %v", rec, err)
	}
}

// The claim of a live run is renewed: however long it runs, no retry takes
// it over; once it failed and released the key, a retry runs at once.
func TestClaimOfALiveRunIsKept(t *testing.T) {
	const lease = 300 * time.Millisecond
	keys, client, ctx := newKeys(t, lease)
	c, _, err := keys.Acquire(ctx, "US1", "k2", "h2")
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	stop := keys.Keep(ctx, c)
	time.Sleep(3 * lease)
	if other, _, err := keys.Acquire(ctx, "US1", "k2", "h2"); err != nil || other != nil {
		t.Fatalf("a retry took over the claim of a live run: %v, %v", other, err)
	}
	stop()
	keys.Release(ctx, c)
	if n := client.IdempotencyKey.Query().Where(idempotencykey.Key("k2")).CountX(ctx); n != 0 {
		t.Fatalf("%d claims left after the run released its key", n)
	}
	if again, _, err := keys.Acquire(ctx, "US1", "k2", "h2"); err != nil || again == nil {
		t.Fatalf("a retry after the release: %v, %v", again, err)
	}
}

// A claim that holds an answer is never released: a commit whose
// acknowledgement was lost did happen, and the retry must get its answer.
func TestAnsweredClaimIsNotReleased(t *testing.T) {
	keys, client, ctx := newKeys(t, 0)
	c, _, err := keys.Acquire(ctx, "US1", "k3", "h3")
	if err != nil || c == nil {
		t.Fatalf("claim: %v, %v", c, err)
	}
	if err := keys.Store(ctx, client, c, []byte(`{"data":1}`)); err != nil {
		t.Fatal(err)
	}
	keys.Release(ctx, c)
	if _, rec, err := keys.Acquire(ctx, "US1", "k3", "h3"); err != nil || rec == nil || rec.Response == nil {
		t.Fatalf("the answer of a run was released: %+v, %v", rec, err)
	}
}
