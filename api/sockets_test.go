package api_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coder/websocket"

	"estatecrm/api"
	"estatecrm/api/apitest"
)

// At shutdown an open subscription is closed with 1012 (service restart:
// reconnect), not left to a dropped connection when the process exits, and
// no new WebSocket is accepted meanwhile. Before Sockets, the server's
// Shutdown ignored hijacked connections and they closed with the process.
func TestShutdownTellsWebSocketsToReconnect(t *testing.T) {
	env := apitest.New(t)
	p := env.Project(t, "滨江·云玺", 1, 1, 1)
	viewers, _ := agentsWithCustomers(t, env, p, 1)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	tok, _, _ := env.Signer.Issue(viewers[0])
	s, err := dial(t, srv.URL, map[string]any{"Authorization": "Bearer " + tok})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(s, env.Hub, p.ID)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- env.Sockets.Shutdown(ctx) }()
	if code := closedWith(s); code != api.CloseServiceRestart {
		t.Fatalf("closed with %d, want %d (service restart)", code, api.CloseServiceRestart)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v (the socket closed, so it should have returned)", err)
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer dcancel()
	if c, res, err := websocket.Dial(dctx, "ws"+srv.URL[len("http"):]+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}}); err == nil {
		c.CloseNow()
		t.Fatal("a WebSocket was accepted during shutdown")
	} else if res == nil || res.StatusCode != 503 {
		t.Fatalf("a WebSocket during shutdown: %v, want 503", err)
	}
}

// A WebSocket still in its handshake (upgraded, no connection_init yet) at
// shutdown is told to reconnect too. Before the fix gqlgen, waiting for
// that first message, never saw the shutdown: the connection stayed open
// until the client spoke or the process exited (a dropped connection).
func TestShutdownTellsWebSocketsInTheirHandshakeToReconnect(t *testing.T) {
	env := apitest.New(t)
	srv := httptest.NewServer(env.Handler)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+srv.URL[len("http"):]+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()

	shut := make(chan error, 1)
	go func() { shut <- env.Sockets.Shutdown(ctx) }()
	_, _, err = conn.Read(ctx)
	if code := websocket.CloseStatus(err); code != api.CloseServiceRestart {
		t.Fatalf("closed with %d (%v), want %d (service restart)", code, err, api.CloseServiceRestart)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v (the socket closed, so it should have returned)", err)
	}
}
