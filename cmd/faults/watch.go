package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"estatecrm/outbox"
)

// The subscription a watcher keeps open: the sales grid of the holders'
// project, after the last event it got (after: the outbox position, issue
// 14), so that a reconnect resumes without a gap.
const gridSubscription = `subscription($p: ID!, $after: String) { unitStatusChanged(projectId: $p, after: $after) { eventId status unit { id } } }`

// event is a unit status change a watcher received, in the order received.
type event struct {
	seq          int64
	unit, status string
}

// watcher is a phone watching the sales grid: it keeps a subscription open,
// and when the connection ends it reconnects, to the next server, resuming
// after the last event it received.
type watcher struct {
	urls    []string
	cur     int
	token   string
	project string

	mu       sync.Mutex
	events   []event // every event received, in order, repeats included
	lastSeq  int64   // the position of the last event received, or where it started
	told     int     // closes this phase that told it to reconnect (1012, 1001, 1013)
	dropped  int     // connections that ended otherwise this phase
	refused  int     // subscriptions this phase answered with an error (it subscribes again)
	unparsed int     // messages that were not an event it could read
}

// newWatcher returns a watcher whose first subscription resumes after
// position from: it gets every event after it, however long it takes to
// connect.
func newWatcher(urls []string, first int, token, project string, from int64) *watcher {
	return &watcher{urls: urls, cur: first, token: token, project: project, lastSeq: from}
}

// upTo reports whether the watcher has received the event at position seq
// or a later one.
func (w *watcher) upTo(seq int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastSeq >= seq
}

// reset starts a phase's counts of connections (events are kept: the
// check takes those of the phase's positions).
func (w *watcher) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.told, w.dropped, w.refused = 0, 0, 0
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
		switch code {
		case websocket.StatusServiceRestart, websocket.StatusGoingAway, websocket.StatusTryAgainLater:
			w.told++
		case 0: // never opened (the server is down or refusing): nothing to count
		default:
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
	sub := 0
	if err := w.subscribe(ctx, conn, sub); err != nil {
		return websocket.CloseStatus(err)
	}
	for {
		var m struct {
			ID      string
			Type    string
			Payload json.RawMessage
		}
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			return websocket.CloseStatus(err)
		}
		switch m.Type {
		case "ping":
			_ = wsjson.Write(ctx, conn, map[string]any{"type": "pong"})
		case "error", "complete":
			// The subscription ended (refused while the database was away,
			// or ended by the server): subscribe again, after the last
			// event received, as a client that must not show a stale grid
			// would. Each subscription has an id of its own, so that a
			// late message of the one before is not taken for it.
			if m.ID != subID(sub) {
				continue
			}
			w.mu.Lock()
			w.refused++
			w.mu.Unlock()
			select {
			case <-ctx.Done():
				return 0
			case <-time.After(200 * time.Millisecond):
			}
			sub++
			if err := w.subscribe(ctx, conn, sub); err != nil {
				return websocket.CloseStatus(err)
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
			var seq int64
			e := p.Data.UnitStatusChanged
			if json.Unmarshal(m.Payload, &p) == nil {
				e = p.Data.UnitStatusChanged
				if n, err := outbox.DecodeID(e.EventID, "eventId"); err == nil {
					seq = n
				}
			}
			w.mu.Lock()
			if seq == 0 {
				w.unparsed++
			} else {
				w.events = append(w.events, event{seq: seq, unit: e.Unit.ID, status: e.Status})
				w.lastSeq = max(w.lastSeq, seq)
			}
			w.mu.Unlock()
		}
	}
}

func subID(n int) string { return fmt.Sprintf("s%d", n) }

// subscribe asks for the grid's changes after the last event received.
func (w *watcher) subscribe(ctx context.Context, conn *websocket.Conn, n int) error {
	w.mu.Lock()
	vars := map[string]any{"p": w.project, "after": outbox.EncodeID(w.lastSeq)}
	w.mu.Unlock()
	return wsjson.Write(ctx, conn, map[string]any{"id": subID(n), "type": "subscribe", "payload": map[string]any{"query": gridSubscription, "variables": vars}})
}

// check compares what the watcher received at positions (lo, hi] with
// want, the events of the project at those positions in the outbox, in
// order: every one must have been received exactly once, and each unit's
// in the outbox's order. It returns the events missed, and those received
// more than once or out of order.
func (w *watcher) check(lo, hi int64, want []event) (missed, wrong, unparsed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	got := map[int64]int{}
	lastOf := map[string]int64{}
	for _, e := range w.events {
		if e.seq <= lo || e.seq > hi {
			continue
		}
		got[e.seq]++
		if e.seq < lastOf[e.unit] {
			wrong++ // a unit's events out of order
		}
		lastOf[e.unit] = max(lastOf[e.unit], e.seq)
	}
	expected := map[int64]event{}
	for _, e := range want {
		expected[e.seq] = e
		switch n := got[e.seq]; {
		case n == 0:
			missed++
		case n > 1:
			wrong += n - 1
		}
	}
	for seq := range got {
		if _, ok := expected[seq]; !ok {
			wrong++ // an event that is not one of the project's units' (another topic's?)
		}
	}
	for _, e := range w.events {
		if x, ok := expected[e.seq]; ok && (x.unit != e.unit || x.status != e.status) {
			wrong++ // not what the outbox says happened
		}
	}
	unparsed, w.unparsed = w.unparsed, 0
	return missed, wrong, unparsed
}
