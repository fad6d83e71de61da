package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/live"
	"estatecrm/outbox"
)

const resumableGrid = `subscription($p: ID!, $after: String) {
  unitStatusChanged(projectId: $p, after: $after) { eventId status unit { id } } }`

const releaseMutation = `mutation($u: ID!) { releaseHold(input: {unitId: $u}) { unit { id status } } }`

// gridEvent is one event of resumableGrid as a test reads it.
type gridEvent struct {
	EventID, Status, Unit string
}

func (e gridEvent) String() string { return e.Unit + " " + e.Status }

// subscribeGrid subscribes a socket to a project's units after an event
// ("" for none) and waits until the hub holds the subscription.
func subscribeGrid(t testing.TB, s *socket, hub *live.Hub, p pulid.ID, after string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); hub.Subscribers(p) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond) // an earlier socket's subscription going away
	}
	vars := map[string]any{"p": p}
	if after != "" {
		vars["after"] = after
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": resumableGrid, "variables": vars}})
	for deadline := time.Now().Add(5 * time.Second); hub.Subscribers(p) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// nextGrid reads the socket's next event of resumableGrid.
func nextGrid(t testing.TB, s *socket) gridEvent {
	t.Helper()
	m := s.next()
	var msg struct {
		Type    string
		Payload struct {
			Data struct {
				UnitStatusChanged struct {
					EventID, Status string
					Unit            struct{ ID string }
				}
			}
		}
	}
	if err := json.Unmarshal(must(json.Marshal(m)), &msg); err != nil || msg.Type != "next" {
		t.Fatalf("want an event, got %v", m)
	}
	e := msg.Payload.Data.UnitStatusChanged
	if e.EventID == "" {
		t.Fatalf("an event without eventId: %v", m)
	}
	return gridEvent{EventID: e.EventID, Status: e.Status, Unit: e.Unit.ID}
}

// A client that reconnects with the id of the last event it saw gets every
// event since, in order, then the live ones: none missed, none twice.
func TestLiveResumesAfterTheLastEventSeen(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	tok, _, _ := env.Signer.Issue(viewers[1])
	payload := map[string]any{"Authorization": "Bearer " + tok}
	agent := env.As(t, viewers[0])
	hold := func(u int) {
		t.Helper()
		agent.Query(t, holdMutation, map[string]any{"u": units[u].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	}
	release := func(u int) {
		t.Helper()
		agent.Query(t, releaseMutation, map[string]any{"u": units[u].ID}).Decode(t, &struct{}{})
	}
	want := func(u int, status string) string { return string(units[u].ID) + " " + status }

	first := must(dial(t, srv.URL, payload))
	subscribeGrid(t, first, env.Hub, p.ID, "")
	hold(0)
	seen := nextGrid(t, first)
	if seen.String() != want(0, "HELD") {
		t.Fatalf("first event %s, want %s", seen, want(0, "HELD"))
	}
	first.conn.CloseNow()

	// While the client is away.
	release(0)
	hold(1)
	hold(0)

	second := must(dial(t, srv.URL, payload))
	subscribeGrid(t, second, env.Hub, p.ID, seen.EventID)
	release(1) // live, after the resumed ones
	ids := []string{seen.EventID}
	for i, w := range []string{want(0, "AVAILABLE"), want(1, "HELD"), want(0, "HELD"), want(1, "AVAILABLE")} {
		e := nextGrid(t, second)
		if e.String() != w {
			t.Fatalf("event %d after resuming: %s, want %s", i+1, e, w)
		}
		if slices.Contains(ids, e.EventID) {
			t.Fatalf("event %d after resuming repeats the id %s", i+1, e.EventID)
		}
		ids = append(ids, e.EventID)
	}
	// Nothing was sent twice: the next event is the next change.
	release(0)
	if e := nextGrid(t, second); e.String() != want(0, "AVAILABLE") {
		t.Fatalf("after the resumed and live events: %s, want %s", e, want(0, "AVAILABLE"))
	}
}

// An after older than the events kept answers RESYNC_REQUIRED; one that
// names no event answers BAD_USER_INPUT; nothing is streamed for either.
func TestLiveResumeRefusesWhatIsNotKept(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	tok, _, _ := env.Signer.Issue(viewers[0])
	payload := map[string]any{"Authorization": "Bearer " + tok}
	agent := env.As(t, viewers[0])

	s := must(dial(t, srv.URL, payload))
	subscribeGrid(t, s, env.Hub, p.ID, "")
	agent.Query(t, holdMutation, map[string]any{"u": units[0].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	old := nextGrid(t, s)
	agent.Query(t, holdMutation, map[string]any{"u": units[1].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	nextGrid(t, s)
	agent.Query(t, releaseMutation, map[string]any{"u": units[1].ID}).Decode(t, &struct{}{})
	nextGrid(t, s)
	s.conn.CloseNow()

	refused := func(after, code, reason string) {
		t.Helper()
		s := must(dial(t, srv.URL, payload))
		s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": resumableGrid,
			"variables": map[string]any{"p": p.ID, "after": after}}})
		m := string(must(json.Marshal(s.next())))
		if strings.Contains(m, `"data":{`) || !strings.Contains(m, `"code":"`+code+`"`) || !strings.Contains(m, reason) {
			t.Fatalf("after %q answered %s; want %s %s", after, m, code, reason)
		}
	}
	refused(outbox.EncodeID(1<<40), "BAD_USER_INPUT", `"field":"after"`)
	refused("not-an-id", "BAD_USER_INPUT", `"field":"after"`)

	// A day and more later every event but the newest is pruned: the one
	// after old is gone.
	if _, err := outbox.Prune(apitest.System(), env.Client, time.Now().Add(49*time.Hour), outbox.DefaultRetention); err != nil {
		t.Fatal(err)
	}
	refused(old.EventID, "BAD_USER_INPUT", "RESYNC_REQUIRED")
}

// Holds and releases of one unit, racing through two servers (PostgreSQL)
// or one (SQLite), reach a subscriber that reconnects halfway exactly once
// each and in the order they were made: alternately HELD and AVAILABLE, as
// many as succeeded.
func TestLiveEventsExactlyOnceInOrderAcrossAReconnect(t *testing.T) {
	a := apitest.New(t)
	servers := []*apitest.Env{a}
	if dbtest.OnPostgres() {
		servers = append(servers, a.Second(t))
	}
	p := a.Project(t, "滨江·云玺", 1, 1, 1)
	const agents = 6
	viewers, customers := agentsWithCustomers(t, a, p, agents)
	u := a.Client.Unit.Query().OnlyX(apitest.System())
	watchVia := servers[len(servers)-1]
	srv := httptest.NewServer(watchVia.Handler)
	t.Cleanup(srv.Close)
	tok, _, _ := watchVia.Signer.Issue(viewers[0])
	payload := map[string]any{"Authorization": "Bearer " + tok}

	var mu sync.Mutex
	changes := 0 // successful holds and releases
	var wg sync.WaitGroup
	work := func(rounds int) {
		for i := range agents {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := servers[i%len(servers)].As(t, viewers[i])
				for range rounds {
					res := c.Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[i].ID})
					if len(res.Errors) > 0 {
						continue // another agent holds it
					}
					res = c.Query(t, releaseMutation, map[string]any{"u": u.ID})
					mu.Lock()
					changes++
					if len(res.Errors) == 0 {
						changes++
					}
					mu.Unlock()
				}
			}()
		}
	}

	var got []gridEvent
	s := must(dial(t, srv.URL, payload))
	subscribeGrid(t, s, watchVia.Hub, p.ID, "")
	work(5)
	// Read some, then drop the connection while the writes go on.
	for range 3 {
		got = append(got, nextGrid(t, s))
	}
	s.conn.CloseNow()
	time.Sleep(50 * time.Millisecond)
	s = must(dial(t, srv.URL, payload))
	subscribeGrid(t, s, watchVia.Hub, p.ID, got[len(got)-1].EventID)
	work(5)
	wg.Wait()
	for len(got) < changes {
		got = append(got, nextGrid(t, s))
	}
	seen := map[string]bool{}
	for i, e := range got {
		want := "HELD"
		if i%2 == 1 {
			want = "AVAILABLE"
		}
		if e.Status != want || seen[e.EventID] {
			t.Fatalf("event %d of %d is %s (id seen before: %v); want %s: %v", i, changes, e, seen[e.EventID], want, got)
		}
		seen[e.EventID] = true
	}
	if changes < 4 {
		t.Fatalf("only %d changes succeeded", changes)
	}
}

// A server whose connection to PostgreSQL drops (its outbox reader and its
// listener) loses no event of another server's: once back it reads them
// from its position, and its subscriber gets every one, in order.
func TestLiveHubResumesAfterLosingTheDatabase(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share events through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	p := a.Project(t, "滨江·云玺", 1, 1, 3)
	viewers, customers := agentsWithCustomers(t, a, p, 1)
	units := a.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	if err := a.Hub.Listen(ctx, a.DB.URL); err != nil {
		t.Fatal(err)
	}

	// Server B: its requests on a pool of their own, its hub reading and
	// listening through a proxy that the test takes down.
	db, err := database.Open(ctx, a.DB.URL, database.Pool{MaxOpen: 5, MaxIdle: 5})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	proxy, viaProxy := dbtest.ProxyURL(t, a.DB.URL)
	hubDB, err := database.Open(ctx, viaProxy, database.Pool{MaxOpen: 2, MaxIdle: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hubDB.Close() })
	client := database.NewClient(db.Driver)
	hub := live.NewHub()
	hub.Install(client)
	if err := hub.Listen(ctx, viaProxy); err != nil {
		t.Fatal(err)
	}
	if err := hub.Start(ctx, hubDB.Client()); err != nil {
		t.Fatal(err)
	}
	b := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20}, api.Deps{
		Client: client, DB: db.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Signer: a.Signer, APIKeys: auth.NewAPIKeys(client, time.Now), Hub: hub,
	})
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	tok, _, _ := a.Signer.Issue(viewers[0])
	s := must(dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok}))
	subscribeGrid(t, s, hub, p.ID, "")

	agent := a.As(t, viewers[0])
	hold := func(i int) {
		agent.Query(t, holdMutation, map[string]any{"u": units[i].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	}
	hold(0)
	if e := nextGrid(t, s); e.String() != string(units[0].ID)+" HELD" {
		t.Fatalf("before the outage: %s", e)
	}
	proxy.Down()
	time.Sleep(1500 * time.Millisecond) // a poll of B's hub fails meanwhile
	hold(1)
	hold(2)
	if err := proxy.Up(); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{1, 2} {
		if e := nextGrid(t, s); e.String() != string(units[i].ID)+" HELD" {
			t.Fatalf("after the outage: %s, want unit %d HELD", e, i)
		}
	}
}

// Complaint updates carry their eventId and resume after it.
func TestLiveComplaintUpdatesResume(t *testing.T) {
	env := apitest.New(t)
	w := env.World(t)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	const sub = `subscription($c: ID, $after: String) { complaintUpdated(complaintId: $c, after: $after) { eventId event { kind note } } }`
	open := func(after string) *socket {
		s := must(dial(t, srv.URL, authzSocketPayload(t, w, "H1")))
		vars := map[string]any{"c": w.ID("cpH1")}
		if after != "" {
			vars["after"] = after
		}
		before := env.Hub.ComplaintSubscribers()
		s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": sub, "variables": vars}})
		for deadline := time.Now().Add(5 * time.Second); env.Hub.ComplaintSubscribers() == before && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		return s
	}
	next := func(s *socket) (id, note string) {
		var msg struct {
			Payload struct {
				Data struct {
					ComplaintUpdated struct {
						EventID string
						Event   struct{ Note string }
					}
				}
			}
		}
		if err := json.Unmarshal(must(json.Marshal(s.next())), &msg); err != nil {
			t.Fatal(err)
		}
		u := msg.Payload.Data.ComplaintUpdated
		return u.EventID, u.Event.Note
	}
	note := func(text string) {
		w.Caller(t, "H1").Query(t, `mutation($c: ID!, $n: String!) { addComplaintNote(input: {complaintId: $c, note: $n}) { event { id } } }`,
			map[string]any{"c": w.ID("cpH1"), "n": text}).Decode(t, &struct{}{})
	}
	s := open("")
	note("第一条")
	id, text := next(s)
	if text != "第一条" || id == "" {
		t.Fatalf("first update %q %q", id, text)
	}
	s.conn.CloseNow()
	for _, n := range []string{"第二条", "第三条"} {
		note(n)
	}
	s = open(id)
	for i, want := range []string{"第二条", "第三条"} {
		if _, text := next(s); text != want {
			t.Fatalf("update %d after resuming: %q, want %q", i, text, want)
		}
	}
}

// A portal resuming with an after from before its project was published
// gets none of the pre-launch holds: replayed events pass today's privacy
// rules, so a portal is told to resync instead (RESYNC_REQUIRED), while
// staff still resume. Before the fix the portal received the hold made
// while the project was unpublished.
func TestLivePortalResumeGetsNothingFromBeforePublication(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	tok, _, _ := env.Signer.Issue(viewers[0])
	staff := map[string]any{"Authorization": "Bearer " + tok}
	agent := env.As(t, viewers[0])

	// Pre-launch: the project is unpublished while a hold is made and
	// released; the staff subscriber hears both.
	env.Client.Project.UpdateOne(p).SetPublished(false).ExecX(apitest.System())
	s := must(dial(t, srv.URL, staff))
	subscribeGrid(t, s, env.Hub, p.ID, "")
	agent.Query(t, holdMutation, map[string]any{"u": units[0].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	before := nextGrid(t, s)
	agent.Query(t, releaseMutation, map[string]any{"u": units[0].ID}).Decode(t, &struct{}{})
	nextGrid(t, s)
	agent.Query(t, holdMutation, map[string]any{"u": units[1].ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	nextGrid(t, s)
	s.conn.CloseNow()
	env.Client.Project.UpdateOne(p).SetPublished(true).ExecX(apitest.System())

	// An id of the pre-launch history, or the oldest one there could be.
	for _, after := range []string{before.EventID, outbox.EncodeID(0)} {
		portal := must(dial(t, srv.URL, map[string]any{"X-API-Key": createKey(t, env)}))
		portal.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": resumableGrid,
			"variables": map[string]any{"p": p.ID, "after": after}}})
		m := string(must(json.Marshal(portal.next())))
		if strings.Contains(m, `"data":{`) || strings.Contains(m, string(units[1].ID)) || !strings.Contains(m, "RESYNC_REQUIRED") {
			t.Fatalf("a portal resuming after %q got %s; want RESYNC_REQUIRED and no event", after, m)
		}
		portal.conn.CloseNow()
	}

	// Staff of the project still resume through the same history.
	s = must(dial(t, srv.URL, staff))
	subscribeGrid(t, s, env.Hub, p.ID, before.EventID)
	if e := nextGrid(t, s); e.String() != string(units[0].ID)+" AVAILABLE" {
		t.Fatalf("staff resuming: %s, want %s AVAILABLE", e, units[0].ID)
	}
}
