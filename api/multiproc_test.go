package api_test

// Several server processes on one PostgreSQL database (issue 14, item 5):
// each "process" is an apitest.Env of its own (Env.Second: its own pool,
// ent client, hub, caches and handler) over the test's database. A hold
// made through one process seen live on another is TestLiveAcrossServers
// (live_test.go); the rest is here.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"estatecrm/api/apitest"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/jobs"
	"estatecrm/lease"
	"estatecrm/money"
)

func onPostgres(t *testing.T) {
	t.Helper()
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share one database on PostgreSQL only; set TEST_DATABASE_URL")
	}
}

// rawPost sends one POST /query through h with headers and returns status and body.
func rawPost(h http.Handler, query string, vars map[string]any, headers map[string]string) (int, []byte) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req := httptest.NewRequest(http.MethodPost, "/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, b
}

// One Idempotency-Key sent at the same moment to two processes: the hold is
// made once, and both answers are that hold's, byte for byte.
func TestMultiprocIdempotencyKeyRace(t *testing.T) {
	onPostgres(t)
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "滨江·云玺", 1, 2, 4)
	viewers, customers := agentsWithCustomers(t, a, p, 1)
	units := a.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	tok, _, _ := a.Signer.Issue(viewers[0])
	const release = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`
	for i, u := range units {
		key := fmt.Sprintf("race-%d", i)
		headers := map[string]string{"Authorization": "Bearer " + tok, "Idempotency-Key": key}
		vars := map[string]any{"u": u.ID, "c": customers[0].ID}
		lines := func() int {
			n := 0
			for _, l := range loggedLines(t, a) {
				if l.ListingID == u.ID {
					n++
				}
			}
			return n
		}
		before := lines()
		var bodies [2][]byte
		var codes [2]int
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, env := range []*apitest.Env{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				codes[j], bodies[j] = rawPost(env.Handler, holdMutation, vars, headers)
			}()
		}
		close(start)
		wg.Wait()
		if codes[0] != http.StatusOK || !bytes.Equal(bodies[0], bodies[1]) || bytes.Contains(bodies[0], []byte(`"errors"`)) {
			t.Fatalf("key %s: the two processes answered %d %s and %d %s; want the same hold twice", key, codes[0], bodies[0], codes[1], bodies[1])
		}
		// Done once: the unit's change log has one more line, the hold's.
		if n := lines() - before; n != 1 {
			t.Fatalf("key %s: %d new change lines for the unit, want 1 (one hold)", key, n)
		}
		// Released under a key of its own, so the agent stays under 3 holds.
		headers["Idempotency-Key"] = key + "-release"
		if code, body := rawPost(b.Handler, release, map[string]any{"u": u.ID}, headers); code != http.StatusOK || bytes.Contains(body, []byte(`"errors"`)) {
			t.Fatalf("release: %d %s", code, body)
		}
	}
}

// One portal key's query-cost budget is one budget, whichever process
// answers: of requests racing on two processes for a budget that pays for
// one, one is answered. (A budget per process would answer one on each.)
func TestMultiprocOnePortalBudget(t *testing.T) {
	onPostgres(t)
	a := apitest.New(t)
	costWorld(t, a)
	b := a.Second(t)
	fixedClock(a, b) // nothing restores during the race
	key := newPortalKey(t, a, 100, 1)
	const racers = 8
	var ok, limited atomic.Int32
	var other sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		env := []*apitest.Env{a, b}[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			code, body := rawPost(env.Handler, costUnits, nil, map[string]string{"X-API-Key": key})
			switch {
			case code == http.StatusOK && !bytes.Contains(body, []byte(`"errors"`)):
				ok.Add(1)
			case code == http.StatusTooManyRequests:
				limited.Add(1)
			default:
				other.Store(i, fmt.Sprintf("%d %s", code, body))
			}
		}()
	}
	close(start)
	wg.Wait()
	other.Range(func(k, v any) bool { t.Errorf("racer %v: %v", k, v); return true })
	if ok.Load() != 1 || limited.Load() != racers-1 {
		t.Fatalf("%d answered and %d refused of %d requests costing 61 on a budget of 100; want 1 and %d", ok.Load(), limited.Load(), racers, racers-1)
	}
}

// proc is a process's background work: the server's own (jobs.Start under
// a lease.Leader), on the process's client, with short intervals.
type proc struct {
	env    *apitest.Env
	leader *lease.Leader
	cancel context.CancelFunc
	done   <-chan struct{}
}

func startJobs(t *testing.T, env *apitest.Env) *proc {
	t.Helper()
	l := lease.New(env.DB.SQL, "background")
	l.Retry, l.Check = 100*time.Millisecond, 200*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{env: env, leader: l, cancel: cancel}
	p.done = jobs.Start(ctx, l, jobs.Config{Client: env.Client, UploadDir: env.Uploads, WebhookPoll: 20 * time.Millisecond,
		HoldEvery: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	t.Cleanup(p.stop)
	return p
}

func (p *proc) stop() {
	p.cancel()
	<-p.done
}

// leaderOf waits until exactly one of ps leads and returns it.
func leaderOf(t *testing.T, ps ...*proc) *proc {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var leading []*proc
		for _, p := range ps {
			if p.leader.Leading() {
				leading = append(leading, p)
			}
		}
		if len(leading) == 1 {
			return leading[0]
		}
	}
	t.Fatal("no single process leads the background work within 5 s")
	return nil
}

// watchLeaders samples who leads until the test ends and fails it if two
// processes ever lead at once (a clean handover never overlaps).
func watchLeaders(t *testing.T, ps ...*proc) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			n := 0
			for _, p := range ps {
				if p.leader.Leading() {
					n++
				}
			}
			if n > 1 {
				t.Errorf("%d processes led the background work at once", n)
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// lapse gives u a hold that lapsed a minute ago, as storage has it before a sweep.
func lapse(t *testing.T, env *apitest.Env, u *ent.Unit, agent, customer pulid.ID) {
	t.Helper()
	env.Client.Unit.UpdateOneID(u.ID).SetStatus(unit.StatusHELD).SetHeldByID(agent).SetHeldForID(customer).
		SetHoldExpiresAt(time.Now().Add(-time.Minute)).ExecX(apitest.System())
}

// storedStatus is a unit's status as stored (a lapsed hold reads as
// AVAILABLE through the API before any sweep: not what is asked here).
func storedStatus(t *testing.T, env *apitest.Env, u *ent.Unit) string {
	t.Helper()
	q := `SELECT status FROM units WHERE id = ?`
	if env.DB.Dialect == "postgres" {
		q = `SELECT status FROM units WHERE id = $1`
	}
	var s string
	if err := env.DB.SQL.QueryRow(q, u.ID).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// One process alone (the embedded SQLite's case: no database to share a
// lock through) runs the background work itself: a lapsed hold is swept.
func TestBackgroundInOneProcess(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	u := env.Client.Unit.Query().OnlyX(apitest.System())
	lapse(t, env, u, viewers[0].UserID, customers[0].ID)
	if s := storedStatus(t, env, u); s != "HELD" {
		t.Fatalf("the fixture's hold is stored as %s", s)
	}
	var shared *sql.DB
	if env.DB.Dialect == "postgres" {
		shared = env.DB.SQL
	}
	l := lease.New(shared, "background")
	ctx, cancel := context.WithCancel(context.Background())
	done := jobs.Start(ctx, l, jobs.Config{Client: env.Client, UploadDir: env.Uploads, HoldEvery: 50 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer func() { cancel(); <-done }()
	if !eventually(3*time.Second, func() bool { return storedStatus(t, env, u) == "AVAILABLE" }) {
		t.Fatal("the lapsed hold was not swept within 3 s")
	}
	if !l.Leading() {
		t.Fatal("the only process does not lead")
	}
}

func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// Two processes run the server's background work: one sweeps (the other
// does not lead, so its jobs do not run); when the sweeping one stops, as
// on SIGTERM, the other takes over within seconds and sweeps.
func TestMultiprocOneSweeper(t *testing.T) {
	onPostgres(t)
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, a, p, 1)
	units := a.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	pa, pb := startJobs(t, a), startJobs(t, b)
	watchLeaders(t, pa, pb)
	first := leaderOf(t, pa, pb)
	lapse(t, a, units[0], viewers[0].UserID, customers[0].ID)
	if !eventually(3*time.Second, func() bool { return storedStatus(t, a, units[0]) == "AVAILABLE" }) {
		t.Fatal("the lapsed hold was not swept within 3 s")
	}
	if got := leaderOf(t, pa, pb); got != first {
		t.Fatal("leadership moved while nothing happened")
	}

	first.stop()
	second := leaderOf(t, pa, pb)
	if second == first {
		t.Fatal("the stopped process still leads")
	}
	lapse(t, a, units[1], viewers[0].UserID, customers[0].ID)
	if !eventually(3*time.Second, func() bool { return storedStatus(t, a, units[1]) == "AVAILABLE" }) {
		t.Fatal("after the first leader stopped, the lapsed hold was not swept within 3 s")
	}
}

// Two processes run the server's background work while both take writes:
// each listing change reaches the portal's webhook once, in order, also
// across a change of leader in the middle.
func TestMultiprocOneWebhookDelivery(t *testing.T) {
	onPostgres(t)
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "江南·里", 1, 4, 5) // 20 units
	us := unitsOf(a, p)
	rcv := newReceiver(t, 0)
	newEndpoint(t, a, rcv.srv.URL, nil)
	pa, pb := startJobs(t, a), startJobs(t, b)
	watchLeaders(t, pa, pb)
	write := func(from int) {
		for i, u := range us {
			env := []*apitest.Env{a, b}[i%2]
			env.Client.Unit.UpdateOneID(u.ID).AddListPrice(money.Yuan(int64(from + i))).ExecX(apitest.System())
		}
	}
	delivered := func(n int) bool { return len(rcv.requests()) >= n }
	write(1)
	if !eventually(10*time.Second, func() bool { return delivered(len(us)) }) {
		t.Fatalf("%d of %d changes delivered within 10 s", len(rcv.requests()), len(us))
	}
	leaderOf(t, pa, pb).stop()
	write(100)
	if !eventually(10*time.Second, func() bool { return delivered(2 * len(us)) }) {
		t.Fatalf("after the leader stopped, %d of %d changes delivered within 10 s", len(rcv.requests()), 2*len(us))
	}
	time.Sleep(300 * time.Millisecond) // more rounds: nothing goes twice
	got := rcv.requests()
	seen := map[int64]int{}
	for i, h := range got {
		seen[h.Payload.Data.Sequence]++
		if i > 0 && h.Payload.Data.Sequence <= got[i-1].Payload.Data.Sequence {
			t.Errorf("request %d: sequence %d after %d", i, h.Payload.Data.Sequence, got[i-1].Payload.Data.Sequence)
		}
	}
	if len(got) != 2*len(us) || len(seen) != 2*len(us) {
		var b strings.Builder
		for s, n := range seen {
			if n > 1 {
				fmt.Fprintf(&b, " %d×%d", s, n)
			}
		}
		t.Fatalf("the receiver got %d requests for %d changes, want %d once each;%s", len(got), len(seen), 2*len(us), b.String())
	}
}
