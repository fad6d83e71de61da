package auth_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/user"
	"estatecrm/throttle"
)

// countingChecker counts the password checks a login makes.
type countingChecker struct {
	n     atomic.Int64
	inner auth.PasswordChecker
}

func (c *countingChecker) Turn(ctx context.Context) (func(), error) { return c.inner.Turn(ctx) }

func (c *countingChecker) CheckPassword(hash, password string) (bool, error) {
	c.n.Add(1)
	return c.inner.CheckPassword(hash, password)
}

// busyChecker never has a turn free.
type busyChecker struct{}

func (busyChecker) Turn(context.Context) (func(), error)       { return nil, auth.ErrBusy }
func (busyChecker) CheckPassword(string, string) (bool, error) { panic("checked without a turn") }

// Every way a login can fail does the same work, one lookup and one
// password check, and gets the same answer; a source held back does no
// lookup and no check at all, known login or not. Counted, not timed.
func TestEveryLoginFailureDoesTheSameWork(t *testing.T) {
	db := dbtest.Open(t)
	statements := dbtest.NewCounter(db.Driver)
	client := database.NewClient(statements)
	sys := auth.SystemContext(context.Background())
	hash, err := auth.HashPassword("the-right-password")
	if err != nil {
		t.Fatal(err)
	}
	client.User.Create().SetName("在职").SetLogin("agent.on").SetPasswordHash(hash).SetRole(user.RoleAGENT).ExecX(sys)
	client.User.Create().SetName("离职").SetLogin("agent.off").SetPasswordHash(hash).SetRole(user.RoleAGENT).SetActive(false).ExecX(sys)
	client.User.Create().SetName("无密码").SetLogin("agent.nopw").SetRole(user.RoleAGENT).ExecX(sys)
	signer, err := auth.NewSigner([]byte("session-test-key-session-test-key!!"), 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := &countingChecker{inner: auth.NewHashGate(1)}
	now := func() time.Time { return time.Unix(1_800_000_000, 0) } // the waits told are then alike
	s := auth.NewSessions(client, signer, time.Hour, now, auth.WithPasswordChecker(checks),
		auth.WithLoginLimits(throttle.LoginLimits{Pair: throttle.Rate{PerMinute: 1, Burst: 1}}))

	type work struct {
		checks, statements int64
		err                string
	}
	try := func(addr, login, password string) work {
		ctx := throttle.NewContext(context.Background(), addr)
		c0, s0 := checks.n.Load(), statements.Count()
		_, err := s.Login(ctx, login, password)
		if err == nil {
			t.Fatalf("%s/%s got in", login, password)
		}
		e, ok := apperr.As(err)
		if !ok {
			t.Fatalf("%s: not an application error: %v", login, err)
		}
		return work{checks.n.Load() - c0, statements.Count() - s0, string(e.Code) + " " + e.Message}
	}
	failures := map[string]work{
		"unknown login":  try("192.0.2.1", "nobody", "the-right-password"),
		"wrong password": try("192.0.2.2", "agent.on", "a-wrong-password"),
		"inactive user":  try("192.0.2.3", "agent.off", "the-right-password"),
		"no password":    try("192.0.2.4", "agent.nopw", "the-right-password"),
	}
	want := failures["unknown login"]
	if want.checks != 1 || want.statements != 1 {
		t.Fatalf("an unknown login made %d password checks and %d statements, want 1 and 1", want.checks, want.statements)
	}
	for name, w := range failures {
		if w != want {
			t.Errorf("%s: %+v, want the same work and answer as an unknown login: %+v", name, w, want)
		}
	}
	// Each address above has spent its one failure on its login: the next
	// attempt is held back before any work, whether the login exists or not.
	held := try("192.0.2.1", "nobody", "the-right-password")
	heldKnown := try("192.0.2.2", "agent.on", "the-right-password")
	if held.checks != 0 || held.statements != 0 || held != heldKnown || held.err[:len("RATE_LIMITED")] != "RATE_LIMITED" {
		t.Fatalf("a source held back: %+v (known login: %+v), want RATE_LIMITED with no work", held, heldKnown)
	}
	// A login turned away because the password checks are all taken costs no
	// query either, and says when to come back.
	busy := auth.NewSessions(client, signer, time.Hour, nil, auth.WithPasswordChecker(busyChecker{}))
	bctx := throttle.NewContext(context.Background(), "192.0.2.9")
	s0 := statements.Count()
	_, err = busy.Login(bctx, "agent.on", "the-right-password")
	if e, ok := apperr.As(err); !ok || e.Code != apperr.RateLimited || statements.Count() != s0 || throttle.RetryAfter(bctx) <= 0 {
		t.Fatalf("a busy password checker: %v after %d statements, want RATE_LIMITED with a wait and no statement", err, statements.Count()-s0)
	}
	// The right password from another address gets in.
	ctx := throttle.NewContext(context.Background(), "198.51.100.2")
	if _, err := s.Login(ctx, "agent.on", "the-right-password"); err != nil {
		t.Fatalf("the user was held back by another address's failures: %v", err)
	}
}

// peakChecker records how many password checks ran at once.
type peakChecker struct {
	inner         auth.PasswordChecker
	running, peak atomic.Int64
}

func (c *peakChecker) Turn(ctx context.Context) (func(), error) { return c.inner.Turn(ctx) }

func (c *peakChecker) CheckPassword(hash, password string) (bool, error) {
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return c.inner.CheckPassword(hash, password)
}

// A flood of logins from many addresses runs as many password checks at
// once as the gate has slots (each holds 19 MiB); the logins that find the
// slots and their short queue taken are turned away RATE_LIMITED at once.
func TestLoginFloodIsBoundedByTheHashGate(t *testing.T) {
	db := dbtest.Open(t)
	client := database.NewClient(db.Driver)
	signer, err := auth.NewSigner([]byte("session-test-key-session-test-key!!"), 15*time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := &peakChecker{inner: auth.NewHashGate(1)}
	s := auth.NewSessions(client, signer, time.Hour, nil, auth.WithPasswordChecker(checks))
	const flood = 40
	codes := make(chan apperr.Code, flood)
	for i := range flood {
		go func() {
			ctx := throttle.NewContext(context.Background(), fmt.Sprintf("10.0.0.%d", i+1))
			_, err := s.Login(ctx, "nobody", "guess-password")
			e, _ := apperr.As(err)
			if e == nil {
				codes <- ""
				return
			}
			codes <- e.Code
		}()
	}
	got := map[apperr.Code]int{}
	for range flood {
		got[<-codes]++
	}
	if p := checks.peak.Load(); p != 1 {
		t.Fatalf("%d password checks ran at once through a gate of 1", p)
	}
	if got[apperr.RateLimited] == 0 || got[apperr.Unauthenticated] == 0 || got[apperr.RateLimited]+got[apperr.Unauthenticated] != flood {
		t.Fatalf("answers %v: want some checked (UNAUTHENTICATED) and the rest turned away (RATE_LIMITED)", got)
	}
}
