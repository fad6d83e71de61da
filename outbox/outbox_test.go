package outbox_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"estatecrm/database/dbtest"
	"estatecrm/outbox"
)

// Writers appending events while sequencers of several clients (as of
// several processes) run at once: every event gets exactly one number, the
// numbers are 1…n without a gap or a repeat, and they follow the order of
// insertion. This is what the sequencer's single statement (the lock, then the
// numbering in a query of its own, in the function outbox_sequence) must keep.
func TestSequenceNumbersEveryEventOnceInOrder(t *testing.T) {
	db := dbtest.Open(t)
	ctx := context.Background()
	const writers, each = 4, 30
	var wg sync.WaitGroup
	var done atomic.Bool
	var seqWG sync.WaitGroup
	for range 3 {
		c := db.Client()
		seqWG.Add(1)
		go func() {
			defer seqWG.Done()
			for !done.Load() {
				if _, err := outbox.Sequence(ctx, c); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for w := range writers {
		c := db.Client()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := outbox.Append(ctx, c, "t", "k", []byte(strconv.Itoa(w*1000+i)), time.Now()); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	done.Store(true)
	seqWG.Wait()
	if _, err := outbox.Sequence(ctx, db.Client()); err != nil {
		t.Fatal(err)
	}
	evs, err := outbox.Read(ctx, db.Client(), "", 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != writers*each {
		t.Fatalf("%d events numbered, want %d", len(evs), writers*each)
	}
	last := map[int]int{} // per writer, its last event: insertion order is number order
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d numbered %d: numbers must be 1…n", i, e.Seq)
		}
		v, _ := strconv.Atoi(string(e.Payload))
		w, n := v/1000, v%1000
		if p, ok := last[w]; ok && n != p+1 {
			t.Fatalf("writer %d's event %d numbered after its event %d", w, n, p)
		}
		last[w] = n
	}
	n, err := outbox.Sequence(ctx, db.Client())
	if err != nil || n != 0 {
		t.Fatalf("a run with nothing to number numbered %d (%v)", n, err)
	}
}

// A run that numbers something wakes the listeners with the payload it was
// given (a process's token, which its own listener passes by), and a run
// that numbers nothing wakes nobody.
func TestSequenceWakesOnlyWhenItNumbers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("wake-ups are PostgreSQL's NOTIFY; SQLite has one process")
	}
	db := dbtest.Open(t)
	ctx := context.Background()
	c := db.Client()
	l := pq.NewListener(db.URL, time.Second, time.Minute, nil)
	defer l.Close()
	if err := l.Listen(outbox.Channel); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.SequenceAs(ctx, c, "idle"); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Append(ctx, c, "t", "k", []byte("x"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, err := outbox.SequenceAs(ctx, c, "it's me"); err != nil || n != 1 {
		t.Fatalf("numbered %d (%v), want 1", n, err)
	}
	// Notifications arrive in commit order: the first one is the run that
	// numbered; the idle run before it sent none.
	select {
	case n := <-l.Notify:
		if n == nil || n.Extra != "it's me" {
			t.Fatalf("wake-up %+v, want the payload of the run that numbered", n)
		}
		if outbox.Woken(n.Extra, "it's me") || !outbox.Woken(n.Extra, "another") || !outbox.Woken(n.Extra, "") {
			t.Fatal("Woken must pass by only the wake-ups of its own token")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no wake-up after a run that numbered an event")
	}
	if _, err := outbox.SequenceAs(ctx, c, "idle again"); err != nil {
		t.Fatal(err)
	}
	if err := outbox.Append(ctx, c, "t", "k", []byte("y"), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.SequenceAs(ctx, c, "second"); err != nil {
		t.Fatal(err)
	}
	if n := <-l.Notify; n == nil || n.Extra != "second" {
		t.Fatalf("wake-up %+v after an idle run, want only the next run that numbered", n)
	}
}
