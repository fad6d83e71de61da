package auth

import (
	"context"
	"errors"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(h, "correct horse") {
		t.Fatalf("unexpected hash %q", h)
	}
	if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
		t.Fatalf("the right password was refused: %v", err)
	}
	if ok, _ := CheckPassword(h, "correct horsE"); ok {
		t.Fatal("a wrong password was accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("two hashes of one password share a salt")
	}
	if _, err := CheckPassword("plain", "plain"); err == nil {
		t.Fatal("a malformed hash was accepted")
	}
}

// A gate with every slot taken queues a few checks, refuses the rest at
// once with ErrBusy, and refuses the queued ones too once they have waited
// long enough: a flood never holds more than its slots' memory.
func TestHashGateQueuesAFewAndRefusesTheRest(t *testing.T) {
	g := NewHashGate(1)
	g.maxWait = 200 * time.Millisecond
	g.slots <- struct{}{} // the one slot is busy
	results := make(chan error, 10)
	for range 10 {
		go func() {
			release, err := g.Turn(context.Background())
			if err == nil {
				release()
			}
			results <- err
		}()
	}
	busy := 0
	for range 10 {
		if err := <-results; errors.Is(err, ErrBusy) {
			busy++
		}
	}
	if busy != 10 {
		t.Fatalf("%d of 10 refused busy; want all refused", busy)
	}
	<-g.slots // the slot frees up: a turn comes again
	release, err := g.Turn(context.Background())
	if err != nil {
		t.Fatalf("after the slot freed: %v", err)
	}
	release()
}

// A queued check ends when its request does.
func TestHashGateWaitEndsWithTheRequest(t *testing.T) {
	g := NewHashGate(1)
	g.slots <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Turn(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if g.waiting.Load() != 0 {
		t.Fatal("the cancelled check is still counted as waiting")
	}
}

// A password check leaves no 19 MiB argon2id block behind for a later
// collection to find: with the Dockerfile's GOGC=400 and GOMEMLIMIT=100MiB
// the blocks of a burst of logins piled up to the limit (152 MiB RSS in
// cmd/bench after 51 logins) before the collector ran.
func TestPasswordCheckLeavesNoBlockBehind(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(100 << 20))
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	for i := range 5 {
		if ok, err := CheckPassword(h, "correct horse"); !ok || err != nil {
			t.Fatalf("the right password was refused: %v", err)
		}
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc >= argonMemoryKiB<<10 {
			t.Fatalf("after check %d the heap holds %d MiB: the argon2id block was left for later", i+1, ms.HeapAlloc>>20)
		}
	}
}
