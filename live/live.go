// Package live carries changes to subscribers: unit status changes (the
// sales grid going from available to held to sold during a tour) and
// complaint timeline events (a homeowner following a repair). On PostgreSQL
// a change is announced with NOTIFY inside the transaction that made it, so
// it is delivered only if it commits, and to every server process that
// LISTENs; on SQLite (one process) it is handed to local subscribers after
// commit.
package live

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/hook"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
)

// channel is the PostgreSQL notification channel of all live changes.
const channel = "estatecrm_live"

// complaints is the topic of complaint events: they are few, and each
// subscriber's own privacy rules pick its share.
const complaints = "complaints"

// UnitEvent says a unit changed status.
type UnitEvent struct {
	UnitID    pulid.ID    `json:"u"`
	ProjectID pulid.ID    `json:"p"`
	Status    unit.Status `json:"s"`
	At        time.Time   `json:"t"`
}

// ComplaintEvent says a complaint's timeline has a new event. Besides the
// IDs it carries what lets most subscribers pass it by without a query (an
// owner's event is none of another owner's business); the subscriber's
// privacy rules decide the rest.
type ComplaintEvent struct {
	ComplaintID pulid.ID `json:"c"`
	EventID     pulid.ID `json:"e"`
	ProjectID   pulid.ID `json:"p"`
	CustomerID  pulid.ID `json:"u"`
	Internal    bool     `json:"i,omitempty"`
}

// mayConcern reports whether an event may be one the viewer sees, from what
// it carries alone: false is certain, true is for the privacy rules to
// settle.
func (e *ComplaintEvent) mayConcern(v *auth.Viewer) bool {
	switch {
	case v == nil:
		return false
	case v.Role == auth.RoleOwner:
		return e.CustomerID == v.CustomerID && !e.Internal
	case v.Role == auth.RoleManager || v.Role == auth.RoleAgent:
		return slices.Contains(v.ProjectIDs, e.ProjectID)
	}
	return true
}

// message is what travels: one of the two kinds.
type message struct {
	Unit      *UnitEvent      `json:"unit,omitempty"`
	Complaint *ComplaintEvent `json:"complaint,omitempty"`
	Grid      *GridEvent      `json:"grid,omitempty"`
}

func (m message) topic() string {
	if m.Unit != nil {
		return string(m.Unit.ProjectID)
	}
	return complaints
}

// changesGrid moves the grid version a message says changed, if any, and
// reports whether it is only about grids (no subscriber waits for it).
func (h *Hub) changesGrid(m message) bool {
	switch {
	case m.Unit != nil:
		h.gridChanged(m.Unit.ProjectID)
	case m.Grid != nil:
		h.gridChanged(m.Grid.ProjectID)
		return true
	}
	return false
}

// Hub fans messages out to the subscribers of each topic (a project's units,
// or complaints) in this process.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[chan message]struct{}
	// notify is set on PostgreSQL: messages travel through NOTIFY.
	notify atomic.Bool
	// grid numbers the versions of projects' sales grids (see GridVersion).
	grid versions
}

// NewHub returns a hub that delivers in-process (SQLite).
func NewHub() *Hub { return &Hub{subs: map[string]map[chan message]struct{}{}} }

// subscribe returns the messages of a topic until ctx ends.
func (h *Hub) subscribe(ctx context.Context, topic string) <-chan message {
	ch := make(chan message, 64)
	h.mu.Lock()
	if h.subs[topic] == nil {
		h.subs[topic] = map[chan message]struct{}{}
	}
	h.subs[topic][ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs[topic], ch)
		if len(h.subs[topic]) == 0 {
			delete(h.subs, topic)
		}
		h.mu.Unlock()
	}()
	return ch
}

// deliver hands a message to this process's subscribers; a subscriber too
// slow to keep 64 messages misses the newest rather than stalling everyone.
func (h *Hub) deliver(m message) {
	if h.changesGrid(m) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[m.topic()] {
		select {
		case ch <- m:
		default:
		}
	}
}

// Listen makes the hub deliver the messages that any process announces on the
// PostgreSQL at dsn, until ctx ends.
func (h *Hub) Listen(ctx context.Context, dsn string) error {
	// While the listener is down another process's change goes unheard:
	// grid versions are not trusted until it is back (and then nothing from
	// before the gap is).
	l := pq.NewListener(dsn, time.Second, time.Minute, func(ev pq.ListenerEventType, _ error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			h.setDeaf(true)
		case pq.ListenerEventReconnected:
			h.setDeaf(false)
		}
	})
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
					h.setDeaf(false)
					continue
				}
				var m message
				if json.Unmarshal([]byte(n.Extra), &m) == nil && (m.Unit != nil || m.Complaint != nil || m.Grid != nil) {
					h.deliver(m)
				}
			case <-time.After(90 * time.Second):
				_ = l.Ping()
			}
		}
	}()
	return nil
}

// Install makes every status change of a unit through client an event, and
// every other write that changes what a sales grid shows move the grid's
// version (see GridVersion).
func (h *Hub) Install(client *ent.Client) {
	h.installGrid(client)
	client.Unit.Use(func(next ent.Mutator) ent.Mutator {
		return hook.UnitFunc(func(ctx context.Context, m *ent.UnitMutation) (ent.Value, error) {
			status, ok := m.Status()
			if !ok || !m.Op().Is(ent.OpUpdate|ent.OpUpdateOne) { // new units are no change of status
				return next.Mutate(ctx, m)
			}
			if c, ok := ctx.Value(changingKey{}).(changing); ok && m.Op().Is(ent.OpUpdate) {
				// The caller named the one unit its update touches: the count
				// of changed rows says whether it changed, with no lookup.
				msg := message{Unit: &UnitEvent{UnitID: c.unitID, ProjectID: c.projectID, Status: status, At: time.Now().UTC()}}
				var nt *notice
				if h.notify.Load() {
					// The NOTIFY may ride on a statement that a hook inside
					// runs after the update anyway (the listing change
					// log's line: TakeNotice), saving a round trip.
					b, _ := json.Marshal(msg)
					nt = &notice{m: m, payload: string(b)}
					ctx = context.WithValue(ctx, noticeKey{}, nt)
				}
				v, err := next.Mutate(ctx, m)
				if err != nil {
					return v, err
				}
				switch n, _ := v.(int); n {
				case 0:
					return v, nil
				case 1:
					if nt != nil && nt.taken {
						tx, err := m.Tx()
						if err != nil {
							tx = nil
						}
						afterCommit(tx, func(error) { h.changesGrid(msg) })
						return v, nil
					}
					return v, h.announceTx(ctx, m, msg)
				default:
					return nil, fmt.Errorf("live: an update of unit %s changed %d rows", c.unitID, n)
				}
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
				e := &UnitEvent{UnitID: u.ID, ProjectID: u.ProjectID, Status: status, At: now}
				if err := h.announceTx(ctx, m, message{Unit: e}); err != nil {
					return nil, err
				}
			}
			return v, nil
		})
	})
}

type changingKey struct{}

// notice is the NOTIFY of a unit's change of status that the status hook
// leaves to a statement of a hook inside it (TakeNotice).
type notice struct {
	m       ent.Mutation
	payload string
	taken   bool
}

type noticeKey struct{}

// TakeNotice hands a hook run inside the status hook, for mutation m, the
// NOTIFY that announces m's change of a unit's status (on PostgreSQL, for
// an update the caller named with Changing), if there is one: the channel
// and the payload of pg_notify. The caller must send it, in a statement of
// m's transaction that runs once the update has changed its row (the
// listing change log's line: listing.UnitHook), or fail the mutation; the
// status hook then sends nothing itself. Nothing is handed when m changed no
// row (the hook inside must not send then) or when there is nothing to
// send; a second call hands nothing either.
func TakeNotice(ctx context.Context, m ent.Mutation) (channelName, payload string, ok bool) {
	nt, _ := ctx.Value(noticeKey{}).(*notice)
	if nt == nil || nt.m != m || nt.taken {
		return "", "", false
	}
	nt.taken = true
	return channel, nt.payload, true
}

type changing struct{ unitID, projectID pulid.ID }

// Changing returns a context for an update of units (a bulk Update, not
// UpdateOne) that the caller guarantees touches at most the one unit unitID,
// of projectID, for example by a predicate on its id: the hook then
// announces the change from what the caller knows and the update's count,
// without reading the rows before and after (issue 10: writes in as few
// statements as the rules allow).
func Changing(ctx context.Context, unitID, projectID pulid.ID) context.Context {
	return context.WithValue(ctx, changingKey{}, changing{unitID, projectID})
}

// ChangingUnit returns the unit that Changing named in ctx, if any: other
// hooks of an update (the listing change log) trust the same promise.
func ChangingUnit(ctx context.Context) (pulid.ID, bool) {
	c, ok := ctx.Value(changingKey{}).(changing)
	return c.unitID, ok
}

// AnnounceComplaint sends a complaint's new timeline event to subscribers
// when the transaction in ctx commits.
func (h *Hub) AnnounceComplaint(ctx context.Context, client *ent.Client, e ComplaintEvent) error {
	return h.announce(ctx, client, message{Complaint: &e})
}

// announce sends a message when the transaction in ctx, if any, commits.
func (h *Hub) announce(ctx context.Context, client *ent.Client, e message) error {
	return h.send(ctx, client, ent.TxFromContext(ctx), e)
}

// send sends a message when tx commits (now when tx is nil). On PostgreSQL
// the NOTIFY rides in the transaction and reaches every process, this one
// included, but perhaps only after the writer's response: this process moves
// the grid version itself at commit, so that the writer reads its write.
func (h *Hub) send(ctx context.Context, client *ent.Client, tx *ent.Tx, e message) error {
	if h.notify.Load() {
		b, _ := json.Marshal(e)
		if _, err := client.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, string(b)); err != nil {
			return err
		}
		afterCommit(tx, func(error) { h.changesGrid(e) })
		return nil
	}
	afterCommit(tx, func(err error) {
		if err == nil {
			h.deliver(e)
		} else {
			h.changesGrid(e) // a failed commit may still have committed: no grid may trust the old state
		}
	})
	return nil
}

// afterCommit runs f with the commit's outcome once tx commits, or at once
// (with nil) when there is no transaction.
func afterCommit(tx *ent.Tx, f func(error)) {
	if tx == nil {
		f(nil)
		return
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			f(err)
			return err
		})
	})
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
	in := h.subscribe(ctx, string(projectID))
	out := make(chan *UnitEvent, 16)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-in:
				e := m.Unit
				// Each event passes the subscriber's own privacy rules.
				if ok, err := client.Unit.Query().Where(unit.ID(e.UnitID)).Exist(ctx); err != nil || !ok {
					continue
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// Subscribers returns how many subscriptions of a project's units this
// process holds (for readiness checks and tests).
func (h *Hub) Subscribers(projectID pulid.ID) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[string(projectID)])
}

// ComplaintSubscribers returns how many complaint subscriptions this process
// holds (for tests).
func (h *Hub) ComplaintSubscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs[complaints])
}

// WatchComplaints streams the timeline events that the viewer in ctx may see
// (a homeowner: the public events of their own complaints; staff: those of
// the complaints they may see), of one complaint or of all, until ctx ends.
func WatchComplaints(ctx context.Context, client *ent.Client, h *Hub, complaintID *pulid.ID) (<-chan *ent.ComplaintEvent, error) {
	if complaintID != nil {
		if !ent.IDOfType(*complaintID, complaint.Table) {
			return nil, apperr.Input("complaintId", "not the ID of a complaint")
		}
		if _, err := client.Complaint.Get(ctx, *complaintID); err != nil {
			return nil, err
		}
	}
	in := h.subscribe(ctx, complaints)
	viewer := auth.FromContext(ctx)
	out := make(chan *ent.ComplaintEvent, 16)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-in:
				if (complaintID != nil && m.Complaint.ComplaintID != *complaintID) || !m.Complaint.mayConcern(viewer) {
					continue
				}
				// The subscriber's own privacy rules decide: another owner's
				// complaint, or a staff-only note for a homeowner, is not found.
				e, err := client.ComplaintEvent.Query().Where(complaintevent.ID(m.Complaint.EventID)).Only(ctx)
				if err != nil {
					continue
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}
