package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"estatecrm/api"
	"estatecrm/api/apitest"
	"estatecrm/auth"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/live"
)

// socket is a minimal graphql-transport-ws client.
type socket struct {
	t    testing.TB
	conn *websocket.Conn
	ctx  context.Context
}

func dial(t *testing.T, url string, payload map[string]any) (*socket, error) {
	t.Helper()
	return dialFor(t, url, payload, 20*time.Second)
}

// dialFor is dial with a socket that lives at most d.
func dialFor(t testing.TB, url string, payload map[string]any, d time.Duration) (*socket, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	s := &socket{t: t, conn: conn, ctx: ctx}
	s.send(map[string]any{"type": "connection_init", "payload": payload})
	msg, err := s.read()
	if err != nil {
		return nil, err
	}
	if msg["type"] != "connection_ack" {
		return nil, &json.UnsupportedValueError{Str: "no ack: " + string(must(json.Marshal(msg)))}
	}
	return s, nil
}

func (s *socket) send(v any) {
	s.t.Helper()
	if err := wsjson.Write(s.ctx, s.conn, v); err != nil {
		s.t.Fatal(err)
	}
}

func (s *socket) read() (map[string]any, error) {
	var m map[string]any
	err := wsjson.Read(s.ctx, s.conn, &m)
	return m, err
}

// next waits for the next data message of a subscription, skipping pings.
func (s *socket) next() map[string]any {
	s.t.Helper()
	for {
		m, err := s.read()
		if err != nil {
			s.t.Fatalf("no event: %v", err)
		}
		switch m["type"] {
		case "ping", "pong":
			continue
		case "next", "error":
			return m
		}
	}
}

const gridSubscription = `subscription($p: ID!) { unitStatusChanged(projectId: $p) { status unit { id number } } }`

// subscribe starts a subscription to the project's unit changes and waits
// (up to 5 s) until the server has registered it, so no event is missed.
func subscribe(s *socket, hub *live.Hub, projectID pulid.ID) {
	subscribeWithin(s, hub, projectID, 5*time.Second)
}

// subscribeWithin is subscribe waiting at most d (a refused subscription
// never registers).
func subscribeWithin(s *socket, hub *live.Hub, projectID pulid.ID, d time.Duration) {
	// A subscription of an earlier connection may still be going away: wait
	// for it, so that the count below is this one's.
	for deadline := time.Now().Add(d); hub.Subscribers(projectID) > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	s.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": gridSubscription, "variables": map[string]any{"p": projectID}}})
	for deadline := time.Now().Add(d); hub.Subscribers(projectID) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

func TestLiveSalesGrid(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 2)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	token := func(i int) string {
		tok, _, _ := env.Signer.Issue(viewers[i])
		return "Bearer " + tok
	}

	if _, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer forged"}); err == nil {
		t.Fatal("a forged token was acknowledged")
	}
	watcher, err := dial(t, srv.URL, map[string]any{"Authorization": token(1)})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(watcher, env.Hub, p.ID)

	u := env.Client.Unit.Query().FirstX(apitest.System())
	env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	ev := watcher.next()
	if ev["type"] != "next" || !strings.Contains(string(must(json.Marshal(ev))), `"status":"HELD"`) ||
		!strings.Contains(string(must(json.Marshal(ev))), string(u.ID)) {
		t.Fatalf("want the hold as an event, got %v", ev)
	}
}

// A portal may watch a published project, but sees no unpublished unit.
func TestLiveEventsFollowThePrivacyRules(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 2)
	viewers, customers := agentsWithCustomers(t, env, p, 1)
	units := env.Client.Unit.Query().Order(unit.ByNumber()).AllX(apitest.System())
	env.Client.Unit.UpdateOne(units[0]).SetPublished(false).ExecX(apitest.System())
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	portal, err := dial(t, srv.URL, map[string]any{"X-API-Key": createKey(t, env)})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(portal, env.Hub, p.ID)
	hold := func(u *ent.Unit) {
		env.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	}
	hold(units[0]) // unpublished: the portal hears nothing of it
	hold(units[1])
	ev := string(must(json.Marshal(portal.next())))
	if !strings.Contains(ev, string(units[1].ID)) || strings.Contains(ev, string(units[0].ID)) {
		t.Fatalf("the portal's first event should be the published unit: %s", ev)
	}
}

// A hold made through one server reaches a subscriber of another.
func TestLiveAcrossServers(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("several server processes share changes through PostgreSQL; set TEST_DATABASE_URL")
	}
	a := apitest.New(t)
	b := a.Second(t)
	p := a.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, customers := agentsWithCustomers(t, a, p, 1)
	srvB := httptest.NewServer(b.Handler)
	t.Cleanup(srvB.Close)
	tok, _, _ := b.Signer.Issue(viewers[0])
	watcher, err := dial(t, srvB.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(watcher, b.Hub, p.ID)
	u := a.Client.Unit.Query().OnlyX(apitest.System())
	a.As(t, viewers[0]).Query(t, holdMutation, map[string]any{"u": u.ID, "c": customers[0].ID}).Decode(t, &struct{}{})
	if ev := string(must(json.Marshal(watcher.next()))); !strings.Contains(ev, `"status":"HELD"`) {
		t.Fatalf("server B's subscriber got %s", ev)
	}
}

// The connection ends when the token it was opened with expires.
func TestLiveConnectionEndsWithItsToken(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, _ := agentsWithCustomers(t, env, p, 1)
	short, err := auth.NewSigner(apitest.Key, 2*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, _ := short.Issue(viewers[0])
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	s, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(s, env.Hub, p.ID)
	start := time.Now()
	for {
		if _, err := s.read(); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the connection outlived its token by %s", d)
	}
}

// A client that opens a WebSocket and never sends connection_init is
// closed once SocketInitTimeout has passed (1002, gqlgen's code for it):
// before, the connection was held for as long as the client kept it open.
func TestSocketWithoutInitIsClosed(t *testing.T) {
	env := apitest.New(t)
	now := func() time.Time { return env.Now() }
	h := api.New(api.Config{RequestTimeout: 30 * time.Second, MaxBodyBytes: 1 << 20, UploadDir: env.Uploads,
		SocketInitTimeout: 200 * time.Millisecond}, api.Deps{
		Client: env.Client, DB: env.DB.SQL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Signer: env.Signer,
		Sessions: auth.NewSessions(env.Client, env.Signer, time.Hour, now), APIKeys: auth.NewAPIKeys(env.Client, now),
		Now: now, Hub: env.Hub, Photos: env.Photos, Revoked: auth.NewRevocations(env.Client, 0, now),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	// The client's own deadline is far beyond the server's timeout: only
	// the server closing the socket ends the read below in time.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, _, err = conn.Read(ctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusProtocolError {
		t.Fatalf("the silent socket ended with %v (close code %d), want closed by the server with 1002", err, code)
	}
}
