// Package live carries unit status changes to subscribers (the sales grid
// going from available to held to sold during a tour). On PostgreSQL a
// change is announced with NOTIFY inside the transaction that made it, so it
// is delivered only if it commits, and to every server process that LISTENs;
// on SQLite (one process) it is handed to local subscribers after commit.
package live

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/hook"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

// channel is the PostgreSQL notification channel of unit changes.
const channel = "estatecrm_unit_status"

// UnitEvent says a unit changed status.
type UnitEvent struct {
	UnitID    pulid.ID    `json:"u"`
	ProjectID pulid.ID    `json:"p"`
	Status    unit.Status `json:"s"`
	At        time.Time   `json:"t"`
}

// Hub fans events out to the subscribers of each project in this process.
type Hub struct {
	mu   sync.Mutex
	subs map[pulid.ID]map[chan UnitEvent]struct{}
	// notify is set on PostgreSQL: events travel through NOTIFY.
	notify atomic.Bool
}

// NewHub returns a hub that delivers in-process (SQLite).
func NewHub() *Hub { return &Hub{subs: map[pulid.ID]map[chan UnitEvent]struct{}{}} }

// Subscribe returns the events of a project until ctx ends.
func (h *Hub) Subscribe(ctx context.Context, projectID pulid.ID) <-chan UnitEvent {
	ch := make(chan UnitEvent, 64)
	h.mu.Lock()
	if h.subs[projectID] == nil {
		h.subs[projectID] = map[chan UnitEvent]struct{}{}
	}
	h.subs[projectID][ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs[projectID], ch)
		h.mu.Unlock()
	}()
	return ch
}

// deliver hands an event to this process's subscribers; a subscriber too slow
// to keep 64 events misses the newest rather than stalling everyone.
func (h *Hub) deliver(e UnitEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[e.ProjectID] {
		select {
		case ch <- e:
		default:
		}
	}
}

// Listen makes the hub deliver the events that any process announces on the
// PostgreSQL at dsn, until ctx ends.
func (h *Hub) Listen(ctx context.Context, dsn string) error {
	l := pq.NewListener(dsn, time.Second, time.Minute, nil)
	if err := l.Listen(channel); err != nil {
		l.Close()
		return err
	}
	h.notify.Store(true)
	go func() {
		defer l.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-l.Notify:
				if n == nil { // reconnected: events in between are lost; clients refetch on reconnect
					continue
				}
				var e UnitEvent
				if json.Unmarshal([]byte(n.Extra), &e) == nil {
					h.deliver(e)
				}
			case <-time.After(90 * time.Second):
				_ = l.Ping()
			}
		}
	}()
	return nil
}

// Install makes every status change of a unit through client an event.
func (h *Hub) Install(client *ent.Client) {
	client.Unit.Use(func(next ent.Mutator) ent.Mutator {
		return hook.UnitFunc(func(ctx context.Context, m *ent.UnitMutation) (ent.Value, error) {
			status, ok := m.Status()
			if !ok || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) { // new units are no change of status
				return next.Mutate(ctx, m)
			}
			ids, err := m.IDs(ctx)
			if err != nil {
				return nil, err
			}
			v, err := next.Mutate(ctx, m)
			if err != nil || len(ids) == 0 {
				return v, err
			}
			// The rows actually changed: conditional updates may have matched none.
			changed, err := m.Client().Unit.Query().Where(unit.IDIn(ids...), unit.StatusEQ(status)).
				Select(unit.FieldID, unit.FieldProjectID).All(auth.SystemContext(ctx))
			if err != nil {
				return nil, err
			}
			now := time.Now().UTC()
			for _, u := range changed {
				if err := h.announce(ctx, m.Client(), UnitEvent{UnitID: u.ID, ProjectID: u.ProjectID, Status: status, At: now}); err != nil {
					return nil, err
				}
			}
			return v, nil
		})
	})
}

// announce sends an event when the change commits.
func (h *Hub) announce(ctx context.Context, client *ent.Client, e UnitEvent) error {
	if h.notify.Load() {
		b, _ := json.Marshal(e)
		_, err := client.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, string(b))
		return err
	}
	if tx := ent.TxFromContext(ctx); tx != nil {
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				err := next.Commit(ctx, tx)
				if err == nil {
					h.deliver(e)
				}
				return err
			})
		})
		return nil
	}
	h.deliver(e)
	return nil
}

// Watch streams the status changes of a project's units that the viewer in
// ctx may see, until ctx ends. The project itself must be visible.
func Watch(ctx context.Context, client *ent.Client, h *Hub, projectID pulid.ID) (<-chan *UnitEvent, error) {
	if !ent.IDOfType(projectID, project.Table) {
		return nil, apperr.Input("projectId", "not the ID of a project")
	}
	if _, err := client.Project.Get(ctx, projectID); err != nil {
		return nil, err
	}
	in := h.Subscribe(ctx, projectID)
	out := make(chan *UnitEvent, 16)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-in:
				// Each event passes the subscriber's own privacy rules.
				if ok, err := client.Unit.Query().Where(unit.ID(e.UnitID)).Exist(ctx); err != nil || !ok {
					continue
				}
				select {
				case out <- &e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Subscribers returns how many subscriptions of a project this process
// holds (for readiness checks and tests).
func (h *Hub) Subscribers(projectID pulid.ID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[projectID])
}
