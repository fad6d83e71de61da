// Package live carries changes to subscribers: unit status changes (the
// sales grid going from available to held to sold during a tour) and
// complaint timeline events (a homeowner following a repair).
//
// Every change is an event of the outbox (package outbox), written in the
// transaction that makes it. Each process's hub reads the outbox in order
// from its last position and hands the events to its subscribers: woken in
// process when a write of its own commits, by a NOTIFY without payload
// from another process's sequencer on PostgreSQL (Listen), and by a poll
// every PollEvery whatever happens, so that nothing depends on a wake-up
// arriving. A subscriber that passes the id of the last event it saw
// (after) gets every event since from the outbox, then the live ones,
// without a gap or a repeat; so does a hub whose connection to the database
// dropped, from its position.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/complaintevent"
	"estatecrm/ent/hook"
	"estatecrm/ent/privacy"
	"estatecrm/ent/project"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/unit"
	"estatecrm/outbox"
	"estatecrm/tracing"
)

// KickGap is the least time between two runs of a hub's sequencer that
// writes of its process asked for: what an event may wait, at most, for the
// writes committing after it to share its run.
const KickGap = 2 * time.Millisecond

// PollEvery is how often a hub numbers and reads the outbox without being
// woken: the bound on an event's delay when every wake-up was lost (a
// writer that died between its commit and its wake-up, a listener that is
// reconnecting).
const PollEvery = time.Second

// complaints is the topic of complaint events: they are few, and each
// subscriber's own privacy rules pick its share.
const complaints = "complaints"

// gridTopic is the topic of grid events, which no subscriber reads.
const gridTopic = "grid"

// UnitEvent says a unit changed status.
type UnitEvent struct {
	UnitID    pulid.ID    `json:"u"`
	ProjectID pulid.ID    `json:"p"`
	Status    unit.Status `json:"s"`
	At        time.Time   `json:"t"`
	// Seq is the event's position in the outbox.
	Seq int64 `json:"-"`
	// unit is the unit as the subscriber's privacy check read it (Watch).
	unit *ent.Unit
}

// Loaded returns the unit as the subscriber's privacy check read it, when
// the event came through Watch (nil otherwise): the event's unit field
// then needs no statement when it is delivered, which, failing (the
// database away for a moment), would turn the event into an error.
func (e *UnitEvent) Loaded() *ent.Unit { return e.unit }

// EventID is the event's id in the API, which a subscriber passes as after
// to resume after it.
func (e *UnitEvent) EventID() string { return outbox.EncodeID(e.Seq) }

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

// ComplaintUpdate is a complaint's timeline event as a subscriber gets it.
type ComplaintUpdate struct {
	Event *ent.ComplaintEvent
	// Seq is the event's position in the outbox.
	Seq int64
}

// EventID is the update's id in the API (see UnitEvent.EventID).
func (u *ComplaintUpdate) EventID() string { return outbox.EncodeID(u.Seq) }

// Complaint is the complaint the event is of, as the subscriber may see it.
func (u *ComplaintUpdate) Complaint(ctx context.Context) (*ent.Complaint, error) {
	return u.Event.Complaint(ctx)
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

// message is what travels: one of the kinds.
type message struct {
	Unit      *UnitEvent      `json:"unit,omitempty"`
	Complaint *ComplaintEvent `json:"complaint,omitempty"`
	Grid      *GridEvent      `json:"grid,omitempty"`
	// seq is the message's position in the outbox once read from it.
	seq int64
}

func (m message) topic() string {
	switch {
	case m.Unit != nil:
		return string(m.Unit.ProjectID)
	case m.Complaint != nil:
		return complaints
	}
	return gridTopic
}

func (m message) kind() string {
	switch {
	case m.Unit != nil:
		return "unit"
	case m.Complaint != nil:
		return "complaint"
	}
	return "grid"
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

// sub is one subscription's queue. The hub closes it when it overflows
// (the subscriber fell behind): the subscriber then reads what it missed
// from the outbox and subscribes again.
type sub struct{ ch chan message }

// queue is how many events a subscription may fall behind the hub before
// it catches up from the outbox instead.
const queue = 256

// Hub reads the outbox and fans its events out to the subscribers of each
// topic (a project's units, or complaints) in this process.
type Hub struct {
	mu   sync.Mutex
	subs map[string]map[*sub]struct{}
	// pos is the position of the last event delivered (under mu).
	pos int64
	// client reads and numbers the outbox (Start).
	client atomic.Pointer[ent.Client]
	// kick wakes the pump to number and read (a write of this process
	// committed); wake to read (another process numbered events).
	kick, wake chan struct{}
	// listenerDown and readFailing say why the hub may be missing changes
	// of other processes (see setDeaf).
	listenerDown, readFailing atomic.Bool
	// grid numbers the versions of projects' sales grids (see GridVersion).
	grid versions
	// Logger receives the pump's failures; nil discards them.
	Logger *slog.Logger
	// listings is signalled for every unit or grid event delivered.
	listings chan struct{}
	// txGrids holds, per open transaction, the grid events it wrote
	// (the transaction's *ent.Tx → *txGrid).
	txGrids sync.Map
	// reading serialises the reads of the outbox and the deliveries from
	// NATS, so that each delivery follows every event before it.
	reading sync.Mutex
	// relayWake wakes the NATS relay (UseNATS) after each pass of the pump.
	relayWake chan struct{}
	// Poll is how often the hub numbers and reads the outbox unwoken; 0
	// means PollEvery.
	Poll time.Duration
	// token is what this hub's sequencer's wake-ups carry, so that its
	// listener passes them by: the pump reads right after numbering.
	token string
}

// ListingsChanged returns a channel signalled (coalesced) when the hub
// delivers an event that may change a listing (a unit's status, anything
// a grid shows: every write that logs a listing change writes one of these
// in its transaction): the webhook worker's wake-up. One reader.
func (h *Hub) ListingsChanged() <-chan struct{} { return h.listings }

// NewHub returns a hub; Install hooks it on a client, Start starts it.
func NewHub() *Hub {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Hub{subs: map[string]map[*sub]struct{}{}, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1),
		listings: make(chan struct{}, 1), relayWake: make(chan struct{}, 1), token: hex.EncodeToString(b)}
}

// subscribe registers a subscription of a topic and returns it with the
// position of the last event delivered before it: it gets every event of
// its topic after that one, in order, until it overflows or unsubscribes.
func (h *Hub) subscribe(topic string) (*sub, int64) {
	s := &sub{ch: make(chan message, queue)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs[topic] == nil {
		h.subs[topic] = map[*sub]struct{}{}
	}
	h.subs[topic][s] = struct{}{}
	return s, h.pos
}

func (h *Hub) unsubscribe(topic string, s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.drop(topic, s)
}

// drop removes a subscription (under mu).
func (h *Hub) drop(topic string, s *sub) {
	if _, ok := h.subs[topic][s]; !ok {
		return
	}
	delete(h.subs[topic], s)
	if len(h.subs[topic]) == 0 {
		delete(h.subs, topic)
	}
}

// deliver hands a message read from the outbox to this process's
// subscribers. A subscriber too slow to keep queue messages is closed, to
// catch up from the outbox, rather than stalling everyone or missing one.
func (h *Hub) deliver(m message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if m.seq <= h.pos {
		return // read twice (a read that raced a wake-up): delivered already
	}
	h.pos = m.seq
	if m.Unit != nil || m.Grid != nil {
		select {
		case h.listings <- struct{}{}:
		default:
		}
	}
	if h.changesGrid(m) {
		return
	}
	for s := range h.subs[m.topic()] {
		select {
		case s.ch <- m:
		default:
			h.drop(m.topic(), s)
			close(s.ch)
		}
	}
}

// Position returns the position of the last event this hub delivered.
func (h *Hub) Position() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pos
}

// Start makes the hub number and read the outbox through c, from its
// newest event, until ctx ends. It returns once the starting position is
// read. c needs no hooks: the hub's statements are its own.
func (h *Hub) Start(ctx context.Context, c *ent.Client) error {
	if !h.client.CompareAndSwap(nil, c) {
		return fmt.Errorf("live: a hub is started once")
	}
	sys := auth.SystemContext(ctx)
	_, hi, err := outbox.Bounds(sys, c)
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.pos = max(h.pos, hi)
	h.mu.Unlock()
	go h.pump(sys, c)
	return nil
}

// Kick asks the hub to number the outbox and read it: a write committed.
// Kicks coalesce: one pass serves every kick before it.
func (h *Hub) Kick() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *Hub) wakeUp() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// pump numbers and reads the outbox when kicked, woken or every PollEvery.
func (h *Hub) pump(ctx context.Context, c *ent.Client) {
	poll := h.Poll
	if poll <= 0 {
		poll = PollEvery
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	var numbered time.Time // when the last run of the sequencer started
	for {
		number := false
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
			number = true
			// Under a stream of writes, runs at most every KickGap: the
			// commits meanwhile share one run (a run costs PostgreSQL more
			// than the write that kicked it).
			if wait := KickGap - time.Since(numbered); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		case <-t.C:
			number = true // events of a writer that died before its kick
		case <-h.wake:
		}
		if number {
			// A kick comes after its write's commit: the run about to
			// start numbers the events of every kick received so far, so
			// none of them needs a run of its own.
			select {
			case <-h.kick:
			default:
			}
			numbered = time.Now()
			if _, err := outbox.SequenceAs(ctx, c, h.token); err != nil && ctx.Err() == nil {
				h.logWarn("numbering the outbox", err)
			}
		}
		err := h.catchUp(ctx, c)
		select {
		case h.relayWake <- struct{}{}:
		default:
		}
		if err != nil {
			if ctx.Err() == nil {
				h.logWarn("reading the outbox", err)
			}
			if !h.readFailing.Swap(true) {
				h.setDeaf()
			}
			continue
		}
		if h.readFailing.Swap(false) {
			h.setDeaf()
		}
	}
}

func (h *Hub) logWarn(what string, err error) {
	if h.Logger != nil {
		h.Logger.Warn(what, "err", err.Error())
	}
}

// readPage is the most events one read of the outbox takes.
const readPage = 500

// catchUp delivers every numbered event after the hub's position.
func (h *Hub) catchUp(ctx context.Context, c *ent.Client) error {
	h.reading.Lock()
	defer h.reading.Unlock()
	return h.catchUpLocked(ctx, c)
}

// catchUpLocked is catchUp under h.reading.
func (h *Hub) catchUpLocked(ctx context.Context, c *ent.Client) error {
	for {
		evs, err := outbox.Read(ctx, c, "", h.Position(), 0, readPage)
		if err != nil {
			return err
		}
		for _, e := range evs {
			m, ok := decode(e)
			if !ok {
				h.mu.Lock()
				h.pos = max(h.pos, e.Seq) // not ours to read (a newer kind): passed by
				h.mu.Unlock()
				continue
			}
			h.deliver(m)
		}
		if len(evs) < readPage {
			return nil
		}
	}
}

func decode(e outbox.Event) (message, bool) {
	var m message
	if json.Unmarshal(e.Payload, &m) != nil || (m.Unit == nil && m.Complaint == nil && m.Grid == nil) {
		return m, false
	}
	m.seq = e.Seq
	if m.Unit != nil {
		m.Unit.Seq = e.Seq
	}
	return m, true
}

// Listen wakes the hub when any process, on the PostgreSQL at dsn, numbers
// events of the outbox, until ctx ends. The notifications carry no event:
// the hub reads the outbox from its position, so one lost while the
// listener reconnects loses no event. Those of its own pump (their payload
// is the hub's token) wake nothing: the pump has read after numbering.
func (h *Hub) Listen(ctx context.Context, dsn string) error {
	// While the listener is down the hub hears of other processes'
	// events only by its poll: grid versions are not trusted until it is
	// back.
	l := pq.NewListener(dsn, time.Second, time.Minute, func(ev pq.ListenerEventType, _ error) {
		switch ev {
		case pq.ListenerEventDisconnected, pq.ListenerEventConnectionAttemptFailed:
			if !h.listenerDown.Swap(true) {
				h.setDeaf()
			}
		case pq.ListenerEventReconnected:
			h.wakeUp()
		}
	})
	if err := l.Listen(outbox.Channel); err != nil {
		l.Close()
		return err
	}
	go func() {
		defer l.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case n := <-l.Notify:
				if n == nil && h.listenerDown.Swap(false) { // reconnected
					h.setDeaf()
				}
				if n != nil && !outbox.Woken(n.Extra, h.token) {
					continue
				}
				h.wakeUp()
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
				if m.Client().Dialect() == dialect.Postgres {
					// The event's row may ride on a statement that a hook
					// inside runs after the update anyway (the listing
					// change log's line: TakeEvent), saving a round trip.
					b, _ := json.Marshal(msg)
					nt = &notice{m: m, topic: msg.topic(), kind: msg.kind(), payload: string(b), at: msg.Unit.At}
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
						afterCommit(tx, func(error) { h.committed(msg) })
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

// notice is the outbox row of a unit's change of status that the status
// hook leaves to a statement of a hook inside it (TakeEvent).
type notice struct {
	m                    ent.Mutation
	topic, kind, payload string
	at                   time.Time
	taken                bool
}

type noticeKey struct{}

// Event is an outbox row handed to a hook by TakeEvent.
type Event struct {
	Topic, Kind, Payload string
	At                   time.Time
}

// TakeEvent hands a hook run inside the status hook, for mutation m, the
// outbox row that announces m's change of a unit's status (on PostgreSQL,
// for an update the caller named with Changing), if there is one. The
// caller must write it, in a statement of m's transaction that runs once
// the update has changed its row, or in the update's own statement for the
// row it changes (package ride) (the listing change log's line:
// listing.UnitHook), or fail the mutation; the status hook then writes
// nothing itself. The hook inside must write nothing when m changed no row
// (the status hook then announces nothing). Nothing is handed when there
// is nothing to write; a second call hands nothing either.
func TakeEvent(ctx context.Context, m ent.Mutation) (Event, bool) {
	nt, _ := ctx.Value(noticeKey{}).(*notice)
	if nt == nil || nt.m != m || nt.taken {
		return Event{}, false
	}
	nt.taken = true
	return Event{Topic: nt.topic, Kind: nt.kind, Payload: nt.payload, At: nt.at}, true
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

// AnnounceComplaint writes a complaint's new timeline event to the outbox,
// in the transaction in ctx if any: subscribers get it once it commits.
func (h *Hub) AnnounceComplaint(ctx context.Context, client *ent.Client, e ComplaintEvent) error {
	return h.send(ctx, client, ent.TxFromContext(ctx), message{Complaint: &e})
}

// send writes a message to the outbox through client, in tx if there is
// one. Once tx commits this process moves the grid version itself (the
// writer reads its write, before the event comes back from the outbox)
// and kicks the pump, which numbers the event and hands it out.
func (h *Hub) send(ctx context.Context, client *ent.Client, tx *ent.Tx, m message) error {
	if m.Grid != nil && tx != nil && !h.firstGridOf(ctx, tx, m.Grid.ProjectID) {
		return nil // the transaction has said so already: one row for all
	}
	b, _ := json.Marshal(m)
	if err := outbox.Append(ctx, client, m.topic(), m.kind(), b, time.Now()); err != nil {
		return err
	}
	// A failed commit may still have committed: no grid may trust the
	// old state, and the pump's next read says what happened.
	afterCommit(tx, func(error) { h.committed(m) })
	return nil
}

// firstGridOf reports whether a grid event of projectID ("" for every
// project) is the first that tx announces that covers it, and records it:
// a transaction that creates 600 units (an import) writes one grid event,
// not 600.
func (h *Hub) firstGridOf(ctx context.Context, tx *ent.Tx, projectID pulid.ID) bool {
	// A mutation's Tx() is a new value each time, on the transaction's one
	// driver: the request's transaction, when the mutation runs in it,
	// names the transaction; else nothing is shared.
	var key any = tx
	if t := ent.TxFromContext(ctx); t != nil {
		key = t
	}
	v, loaded := h.txGrids.LoadOrStore(key, &txGrid{projects: map[pulid.ID]bool{}})
	g := v.(*txGrid)
	if !loaded {
		forget := func() { h.txGrids.Delete(key) }
		tx.OnCommit(func(next ent.Committer) ent.Committer {
			return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
				defer forget()
				return next.Commit(ctx, tx)
			})
		})
		tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
			return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
				defer forget()
				return next.Rollback(ctx, tx)
			})
		})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.projects[""] || g.projects[projectID] {
		return false
	}
	g.projects[projectID] = true
	return true
}

// txGrid is what grid events a transaction has written.
type txGrid struct {
	mu       sync.Mutex
	projects map[pulid.ID]bool
}

// committed is what a process does when its write of m commits.
func (h *Hub) committed(m message) {
	h.changesGrid(m)
	h.Kick()
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

// stream returns the messages of a topic in order: those after position
// after first when resume is set (read from the outbox), then each one as
// the hub delivers it, until ctx ends; none twice, none skipped. A
// subscription that overflows, or a read of the outbox that fails (the
// database away), is caught up from the last message sent.
func (h *Hub) stream(ctx context.Context, c *ent.Client, topic string, after int64, resume bool) <-chan message {
	out := make(chan message)
	c = h.reader(c)
	sys := auth.SystemContext(ctx)
	// Without after the stream starts after every event committed so far
	// (numbered now, as the hub may not have read them yet), read before
	// the first subscription is taken, which is before returning: a change
	// committed before Watch is not streamed, one committed after it is
	// (the events between start and the hub's position are read from the
	// outbox).
	var start int64
	if !resume {
		if _, err := outbox.Sequence(sys, c); err == nil {
			if _, hi, err := outbox.Bounds(sys, c); err == nil {
				start = hi
			}
		}
	}
	s, pos := h.subscribe(topic)
	if !resume && start == 0 {
		start = pos // the outbox could not be read: from the hub's position
	}
	// Each read of the outbox for this subscriber is a span under the
	// subscription's (when traced): they are few (a resume, a catch-up
	// after falling behind or losing the database), and say where a
	// subscriber's delay came from.
	later := tracing.Later(ctx)
	reason := "start"
	if resume {
		reason = "resume"
	}
	read := func(from, upto int64) ([]outbox.Event, error) {
		if later == nil {
			return outbox.Read(sys, c, topic, from, upto, readPage)
		}
		rctx, span := later(sys, "live.catch_up", topicKey.String(topic), reasonKey.String(reason),
			afterKey.Int64(from), uptoKey.Int64(upto))
		evs, err := outbox.Read(rctx, c, topic, from, upto, readPage)
		span.SetAttributes(eventsKey.Int(len(evs)))
		tracing.End(span, err)
		return evs, err
	}
	go func() {
		defer close(out)
		last := after
		send := func(m message) bool {
			if m.seq <= last {
				return true
			}
			select {
			case out <- m:
				last = m.seq
				return true
			case <-ctx.Done():
				return false
			}
		}
		if !resume {
			last = start
		}
		for first := true; ; first = false {
			if !first {
				s, pos = h.subscribe(topic)
			}
			// The events of the topic up to pos come from the outbox, the
			// rest from the subscription.
			for last < pos {
				evs, err := read(last, pos)
				if err != nil {
					reason = "retry"
					h.unsubscribe(topic, s)
					if ctx.Err() == nil {
						h.logWarn("reading the outbox for a subscriber", err)
					}
					select {
					case <-ctx.Done():
						return
					case <-time.After(PollEvery):
					}
					s = nil
					break
				}
				for _, e := range evs {
					if m, ok := decode(e); ok && !send(m) {
						h.unsubscribe(topic, s)
						return
					}
					last = max(last, e.Seq)
				}
				if len(evs) < readPage {
					last = max(last, pos) // nothing else of the topic up to pos
				}
			}
			if s == nil {
				continue
			}
			for live := true; live; {
				select {
				case <-ctx.Done():
					h.unsubscribe(topic, s)
					return
				case m, ok := <-s.ch:
					if !ok {
						live = false // fell behind: catch up from the outbox
						reason = "overflow"
						break
					}
					if !send(m) {
						h.unsubscribe(topic, s)
						return
					}
				}
			}
		}
	}()
	return out
}

// The attributes of a subscriber's catch-up read's span: the topic (a
// project's id, or complaints), why it reads (start, resume, overflow,
// retry), the positions it reads after and up to, how many events it got.
const (
	topicKey  = attribute.Key("estatecrm.live.topic")
	reasonKey = attribute.Key("estatecrm.live.reason")
	afterKey  = attribute.Key("estatecrm.live.after")
	uptoKey   = attribute.Key("estatecrm.live.upto")
	eventsKey = attribute.Key("estatecrm.live.events")
	// resumeKey says on a subscription's span whether it passed after.
	resumeKey = attribute.Key("estatecrm.live.resume")
)

// reader is the client that reads the outbox: the hub's own once started,
// else c.
func (h *Hub) reader(c *ent.Client) *ent.Client {
	if hc := h.client.Load(); hc != nil {
		return hc
	}
	return c
}

// resumeFrom reads a subscription's after argument: the position to resume
// after, and whether there is one, checked against what the outbox keeps.
func resumeFrom(ctx context.Context, c *ent.Client, after *string) (int64, bool, error) {
	if after == nil {
		return 0, false, nil
	}
	n, err := outbox.DecodeID(*after, "after")
	if err != nil {
		return 0, false, err
	}
	// A replayed event passes the privacy rules as they are now, not as they
	// were when it happened, and event ids are guessable: a portal resuming
	// from before a project or unit was published would get its pre-launch
	// holds and reservations. Nothing records when a listing became visible
	// in a clock the events share (the listing log's is the request's,
	// which tests and deployments may move), so a portal never resumes: it
	// reloads the listings and subscribes again, as after an expired after
	// (its own resumable feed is listingChanges). Staff may resume: the
	// history of a unit of their project is theirs to see whenever they
	// joined.
	if v := auth.FromContext(ctx); v != nil && v.Role == auth.RolePortal {
		return 0, false, outbox.ErrResync
	}
	if err := outbox.Check(auth.SystemContext(ctx), c, n); err != nil {
		return 0, false, err
	}
	return n, true, nil
}

// Watch streams the status changes of a project's units that the viewer in
// ctx may see, until ctx ends, after the event whose id is after (the last
// one the subscriber saw) when given. The project itself must be visible.
//
// When the stream ends early (ErrStalled), it tells fail (if not nil) why
// before closing the channel.
func Watch(ctx context.Context, client *ent.Client, h *Hub, projectID pulid.ID, after *string, fail func(error)) (<-chan *UnitEvent, error) {
	if !ent.IDOfType(projectID, project.Table) {
		return nil, apperr.Input("projectId", "not the ID of a project")
	}
	if _, err := client.Project.Get(ctx, projectID); err != nil {
		return nil, err
	}
	trace.SpanFromContext(ctx).SetAttributes(tracing.ProjectIDKey.String(string(projectID)), resumeKey.Bool(after != nil))
	from, resume, err := resumeFrom(ctx, h.reader(client), after)
	if err != nil {
		return nil, err
	}
	in := h.stream(ctx, client, string(projectID), from, resume)
	out := make(chan *UnitEvent, 16)
	go func() {
		defer close(out)
		for m := range in {
			e := m.Unit
			if e == nil {
				continue
			}
			// Each event passes the subscriber's own privacy rules; the
			// unit they let through is the one the event is delivered with.
			var u *ent.Unit
			ok, err := h.decide(ctx, func(ctx context.Context) (bool, error) {
				var err error
				u, err = client.Unit.Query().Where(unit.ID(e.UnitID)).Only(ctx)
				return err == nil, err
			})
			if err != nil {
				ended(ctx, fail, err)
				return
			}
			if !ok {
				continue
			}
			ev := *e // shared by every subscriber of the process
			ev.unit = u
			select {
			case out <- &ev:
			case <-ctx.Done():
				return
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
// the complaints they may see), of one complaint or of all, until ctx ends,
// after the event whose id is after when given. It ends early as Watch
// does, telling fail.
func WatchComplaints(ctx context.Context, client *ent.Client, h *Hub, complaintID *pulid.ID, after *string, fail func(error)) (<-chan *ComplaintUpdate, error) {
	if complaintID != nil {
		if !ent.IDOfType(*complaintID, complaint.Table) {
			return nil, apperr.Input("complaintId", "not the ID of a complaint")
		}
		if _, err := client.Complaint.Get(ctx, *complaintID); err != nil {
			return nil, err
		}
	}
	span := trace.SpanFromContext(ctx)
	if complaintID != nil {
		span.SetAttributes(tracing.ComplaintIDKey.String(string(*complaintID)))
	}
	span.SetAttributes(resumeKey.Bool(after != nil))
	from, resume, err := resumeFrom(ctx, h.reader(client), after)
	if err != nil {
		return nil, err
	}
	in := h.stream(ctx, client, complaints, from, resume)
	viewer := auth.FromContext(ctx)
	out := make(chan *ComplaintUpdate, 16)
	go func() {
		defer close(out)
		for m := range in {
			if m.Complaint == nil || (complaintID != nil && m.Complaint.ComplaintID != *complaintID) || !m.Complaint.mayConcern(viewer) {
				continue
			}
			// The subscriber's own privacy rules decide: another owner's
			// complaint, or a staff-only note for a homeowner, is not found.
			var e *ent.ComplaintEvent
			ok, err := h.decide(ctx, func(ctx context.Context) (bool, error) {
				var err error
				// With its complaint, which the update is delivered with.
				e, err = client.ComplaintEvent.Query().Where(complaintevent.ID(m.Complaint.EventID)).WithComplaint().Only(ctx)
				return err == nil, err
			})
			if err != nil {
				ended(ctx, fail, err)
				return
			}
			if !ok {
				continue
			}
			select {
			case out <- &ComplaintUpdate{Event: e, Seq: m.seq}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ended tells fail why a stream ended, unless its subscriber left.
func ended(ctx context.Context, fail func(error), err error) {
	if fail != nil && ctx.Err() == nil {
		fail(err)
	}
}

// decide runs a subscriber's privacy check of one event until it has an
// answer. A check that fails (the database away for a moment, a pooled
// connection that died with it) is tried again, never taken for "not
// yours": that would drop the event from the subscriber's stream with
// nothing to tell it so, and a client that resumes after its last event
// would never get it either. Meanwhile the stream waits (if the hub's queue
// overflows the stream catches up from the outbox). A check that keeps
// failing ends the stream with ErrStalled: an INTERNAL error after
// internalTries (a bug in a rule answers the same every time), any other
// after failureTries (the database away for about a minute); the client is
// told, and resumes after its last event. ctx ending ends it with ctx's
// error.
func (h *Hub) decide(ctx context.Context, check func(context.Context) (bool, error)) (bool, error) {
	wait := 50 * time.Millisecond
	for failures := 1; ; failures++ {
		ok, err := check(ctx)
		switch {
		case err == nil:
			return ok, nil
		case ctx.Err() != nil:
			return false, ctx.Err()
		case denied(err):
			return false, nil
		}
		if e, isApp := apperr.As(err); failures >= failureTries || (isApp && e.Code == apperr.Internal && failures >= internalTries) {
			h.logWarn("checking a live event for a subscriber (giving up)", err)
			return false, ErrStalled
		}
		if failures == 1 {
			h.logWarn("checking a live event for a subscriber (retrying)", err)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// How many times decide tries a check that fails: an INTERNAL error, and
// any other (with the backoff, about 50 s).
const (
	internalTries = 3
	failureTries  = 30
)

// ErrStalled ends a subscription whose privacy check of an event kept
// failing: the client subscribes again after the last event it got.
var ErrStalled = apperr.New(apperr.Unavailable, "the subscription could not go on: subscribe again, after the last event you received")

// denied reports whether err is the privacy rules' answer, which a retry
// would give again: not found (a filter rule), a denial, or an application
// error other than a failure to answer.
func denied(err error) bool {
	if ent.IsNotFound(err) || errors.Is(err, privacy.Deny) {
		return true
	}
	if e, ok := apperr.As(err); ok {
		return e.Code != apperr.Unavailable && e.Code != apperr.Internal
	}
	return false
}
