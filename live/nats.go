package live

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/outbox"
)

// NATS is where a hub fans events out through NATS JetStream (NATS_URL):
// one process at a time, the relay, publishes the outbox's events to a
// stream in order, and every process's hub consumes the stream. The outbox
// stays the log of record: a hub that finds a gap between its position and
// an event from the stream (it started, or the consumer was reset) reads
// the gap from the outbox first, and its poll of the outbox goes on, so an
// event is never lost to NATS being away, only delayed.
type NATS struct {
	// URL is the NATS server's.
	URL string
	// Stream names the JetStream stream; its one subject is Stream + ".events".
	Stream string
	// MaxAge is how long the stream keeps events (the outbox's retention).
	MaxAge time.Duration
	// Lock, on PostgreSQL, is the database on whose advisory lock processes
	// take turns to relay; nil (SQLite: one process) relays always.
	Lock *stdsql.DB
}

// relayLock is the key of the PostgreSQL advisory lock held by the
// process that relays the outbox to NATS ("relay" in ASCII).
const relayLock = 0x72656c6179

// seqHeader carries an event's position in the outbox.
const seqHeader = "Outbox-Seq"

// UseNATS connects the hub to NATS JetStream as n says, creating the stream
// if need be, and starts its consumer and its turn at relaying, until ctx
// ends. Call it after Start.
func (h *Hub) UseNATS(ctx context.Context, n NATS) error {
	c := h.client.Load()
	if c == nil {
		return errors.New("live: use NATS after starting the hub")
	}
	nc, err := nats.Connect(n.URL, nats.MaxReconnects(-1), nats.ReconnectWait(500*time.Millisecond), nats.Name("estatecrm"))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: %w", err)
	}
	subject := n.Stream + ".events"
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: n.Stream, Subjects: []string{subject},
		MaxAge: n.MaxAge, Duplicates: time.Minute, Storage: jetstream.FileStorage}); err != nil {
		nc.Close()
		return fmt.Errorf("nats: stream %s: %w", n.Stream, err)
	}
	// New events only: what came before is the outbox's to give (a gap).
	cons, err := js.OrderedConsumer(ctx, n.Stream, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: consumer: %w", err)
	}
	sys := auth.SystemContext(ctx)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		seq, err := strconv.ParseInt(msg.Headers().Get(seqHeader), 10, 64)
		if err != nil {
			return
		}
		m, ok := decode(outbox.Event{Seq: seq, Payload: msg.Data()})
		if !ok {
			return
		}
		h.deliverInOrder(sys, c, m)
	})
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: consume: %w", err)
	}
	go func() {
		<-ctx.Done()
		cc.Stop()
		nc.Close()
	}()
	// An empty stream is filled from the hub's position now: an event
	// numbered between this call and the relay's first pass is published
	// (taking the outbox's newest then would skip it, and a consumer would
	// hear of it only with the next one).
	go h.relay(sys, c, js, n, subject, h.Position())
	return nil
}

// deliverInOrder delivers a message from NATS after whatever the hub has
// not yet read of the outbox before it, so that subscribers get every
// event in order whichever path brought it first.
func (h *Hub) deliverInOrder(ctx context.Context, c *ent.Client, m message) {
	h.reading.Lock()
	defer h.reading.Unlock()
	if m.seq > h.Position()+1 {
		if err := h.catchUpLocked(ctx, c); err != nil {
			return // the poll reads it all later
		}
	}
	h.deliver(m)
}

// relay publishes the outbox to the stream while this process holds the
// relay lock, from the last event the stream has, woken by the pump.
func (h *Hub) relay(ctx context.Context, c *ent.Client, js jetstream.JetStream, n NATS, subject string, from int64) {
	t := time.NewTicker(PollEvery)
	defer t.Stop()
	var conn *stdsql.Conn
	defer func() {
		if conn != nil {
			conn.Close() // the session ends: the lock is released
		}
	}()
	pos := int64(-1) // not read from the stream yet
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.relayWake:
		}
		if n.Lock != nil && conn == nil {
			var err error
			if conn, err = n.Lock.Conn(ctx); err != nil {
				continue
			}
			var got bool
			if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", relayLock).Scan(&got); err != nil || !got {
				conn.Close()
				conn = nil
				continue
			}
			pos = -1 // another relay may have published meanwhile
		}
		if n.Lock != nil {
			if err := conn.PingContext(ctx); err != nil { // the session, and the lock with it, is gone
				conn.Close()
				conn = nil
				continue
			}
		}
		if pos < 0 {
			var err error
			if pos, err = lastPublished(ctx, js, n.Stream, subject, from); err != nil {
				h.logWarn("reading the NATS stream's last event", err)
				pos = -1
				continue
			}
		}
		for {
			evs, err := outbox.Read(ctx, c, "", pos, 0, readPage)
			if err != nil {
				h.logWarn("relaying the outbox to NATS", err)
				break
			}
			for _, e := range evs {
				msg := &nats.Msg{Subject: subject, Data: e.Payload, Header: nats.Header{}}
				msg.Header.Set(seqHeader, strconv.FormatInt(e.Seq, 10))
				if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(strconv.FormatInt(e.Seq, 10))); err != nil {
					h.logWarn("publishing to NATS", err)
					pos = -1 // start again from what the stream has
					break
				}
				pos = e.Seq
			}
			if pos < 0 || len(evs) < readPage {
				break
			}
		}
	}
}

// lastPublished is the outbox position of the stream's last event, or
// from for an empty stream.
func lastPublished(ctx context.Context, js jetstream.JetStream, stream, subject string, from int64) (int64, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, err
	}
	m, err := s.GetLastMsgForSubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return from, nil
	case err != nil:
		return 0, err
	}
	return strconv.ParseInt(m.Header.Get(seqHeader), 10, 64)
}
