package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// The subscription a watcher keeps open: the sales grid of the holders'
// project. With resume, it asks for the events after the last one it got
// (after:, eventId: issue 14's outbox); without, it can only detect the
// events it missed while it reconnected. Which one the server answers is
// found out at the first subscription (resume is then on by itself once
// the server has the argument).
const (
	resumeSubscription = `subscription($p: ID!, $after: String) { unitStatusChanged(projectId: $p, after: $after) { eventId status unit { id } } }`
	plainSubscription  = `subscription($p: ID!) { unitStatusChanged(projectId: $p) { status unit { id } } }`
)

// resume is whether the servers take after: (1), do not (-1), not yet known (0).
var resume atomic.Int32

// event is a unit status change a watcher received.
type event struct {
	id, unit, status string
}

// watcher is a phone watching the sales grid: it keeps a subscription open,
// and when the connection ends it reconnects, to the next server.
type watcher struct {
	urls    []string
	cur     int
	token   string
	project string

	mu      sync.Mutex
	events  map[string][]event // by unit, this phase
	seen    map[string]bool    // event ids this phase
	last    map[string]string  // each unit's last status received, ever
	lastID  string             // the last event id received
	told    int                // closes this phase with 1012 or 1001: told to reconnect
	dropped int                // connections that ended otherwise this phase
}

func newWatcher(urls []string, first int, token, project string) *watcher {
	return &watcher{urls: urls, cur: first, token: token, project: project,
		events: map[string][]event{}, seen: map[string]bool{}, last: map[string]string{}}
}

// received is how many events the watcher got this phase.
func (w *watcher) received() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, es := range w.events {
		n += len(es)
	}
	return n
}

// reset starts a phase's counts.
func (w *watcher) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events, w.seen = map[string][]event{}, map[string]bool{}
	w.told, w.dropped = 0, 0
}

// run keeps the subscription open until ctx ends.
func (w *watcher) run(ctx context.Context) {
	for ctx.Err() == nil {
		url := "ws" + strings.TrimPrefix(w.urls[w.cur%len(w.urls)], "http")
		code := w.session(ctx, url)
		if ctx.Err() != nil {
			return
		}
		w.mu.Lock()
		if code == websocket.StatusServiceRestart || code == websocket.StatusGoingAway {
			w.told++
		} else if code != 0 {
			w.dropped++
		}
		w.mu.Unlock()
		w.cur++ // reconnect through the balancer: the next server
		time.Sleep(50 * time.Millisecond)
	}
}

// session connects, subscribes and reads events until the connection ends;
// it returns the close code (-1 for a connection dropped without a close
// frame, 0 for a connection that never opened).
func (w *watcher) session(ctx context.Context, url string) websocket.StatusCode {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return 0
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	if err := wsjson.Write(dctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + w.token}}); err != nil {
		return websocket.CloseStatus(err)
	}
	var ack map[string]any
	if err := wsjson.Read(dctx, conn, &ack); err != nil || ack["type"] != "connection_ack" {
		return websocket.CloseStatus(err)
	}
	if err := w.subscribe(ctx, conn); err != nil {
		return websocket.CloseStatus(err)
	}
	for {
		var m struct {
			Type    string
			Payload json.RawMessage
		}
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return websocket.CloseStatus(err)
		}
		switch m.Type {
		case "ping":
			_ = wsjson.Write(ctx, conn, map[string]any{"type": "pong"})
		case "error":
			if resume.Load() == 0 && (strings.Contains(string(m.Payload), "after") || strings.Contains(string(m.Payload), "eventId")) {
				resume.Store(-1) // the server has no resume yet: subscribe without it
				if err := w.subscribe(ctx, conn); err != nil {
					return websocket.CloseStatus(err)
				}
			}
		case "next":
			var p struct {
				Data struct {
					UnitStatusChanged struct {
						EventID string
						Status  string
						Unit    struct{ ID string }
					}
				}
			}
			if json.Unmarshal(m.Payload, &p) != nil {
				continue
			}

			if resume.Load() == 0 {
				resume.Store(1)
			}
			e := p.Data.UnitStatusChanged
			w.mu.Lock()
			if e.EventID == "" || !w.seen[e.EventID] {
				if e.EventID != "" {
					w.seen[e.EventID] = true
					w.lastID = e.EventID
				}
				w.events[e.Unit.ID] = append(w.events[e.Unit.ID], event{id: e.EventID, unit: e.Unit.ID, status: e.Status})
				w.last[e.Unit.ID] = e.Status
			}
			w.mu.Unlock()
		}
	}
}

// subscribe asks for the grid's changes: after the last event received
// when the server resumes (the one place that passes after:), from now on
// otherwise.
func (w *watcher) subscribe(ctx context.Context, conn *websocket.Conn) error {
	query, vars := resumeSubscription, map[string]any{"p": w.project}
	if resume.Load() < 0 {
		query = plainSubscription
	} else {
		w.mu.Lock()
		if w.lastID != "" {
			vars["after"] = w.lastID
		}
		w.mu.Unlock()
	}
	return wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
}
