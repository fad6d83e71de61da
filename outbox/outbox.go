// Package outbox is the one log of every event the server fans out (units'
// changes of status, complaints' timelines, changes of sales grids, the
// listing change log that portals read and webhooks deliver): an event is a
// row of outbox_events written in the transaction of the change that causes
// it, so it exists exactly when the change committed, whatever happens to
// the process after the commit.
//
// A row gets its public position (seq) only once its transaction has
// committed, from a sequencer (Sequence) that numbers the committed rows in
// insertion order after the largest number given so far, one sequencer at a
// time (a transaction-scoped advisory lock on PostgreSQL; SQLite's single
// writer). Numbers therefore become visible in increasing order: a reader
// that has read up to n never later finds an event numbered n or below,
// however late its transaction committed, and a reader that resumes "after
// n" (a reconnecting subscriber, another process, the NATS relay) misses
// nothing. Each class of topics (Class) is pruned with its own retention.
//
// On PostgreSQL the sequencer's own transaction, when it numbered
// something, sends a NOTIFY without payload on Channel: a wake-up for the
// readers of every process, never inside a writing transaction (a NOTIFY
// holds a database-wide lock from its transaction's commit until the
// fsync, which serialised every unit write behind the previous one).
package outbox

import (
	"context"
	stdsql "database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/ent"
)

// Channel is the PostgreSQL notification channel of the wake-ups.
const Channel = "estatecrm_outbox"

// DefaultRetention is how long events are kept by default: a subscriber
// that was away longer resubscribes without `after` and reloads.
const DefaultRetention = 24 * time.Hour

// SequenceChunk is the most events one run of Sequence numbers: it bounds
// how long the sequencers' lock is held.
const SequenceChunk = 10_000

// sequencerLock is the key of the PostgreSQL advisory lock under which one
// sequencer at a time numbers events ("outbox" in ASCII).
const sequencerLock = 0x6f7574626f78

// Event is one numbered event.
type Event struct {
	Seq     int64
	Topic   string
	Kind    string
	Payload []byte
}

// Append writes an event in the transaction of c (a transactional client,
// or a plain one: then at once). It is numbered after the commit.
func Append(ctx context.Context, c *ent.Client, topic, kind string, payload []byte, at time.Time) error {
	q := "INSERT INTO outbox_events (topic, kind, payload, at) VALUES (?, ?, ?, ?)"
	if c.Dialect() == dialect.Postgres {
		q = "INSERT INTO outbox_events (topic, kind, payload, at) VALUES ($1, $2, $3, $4)"
	}
	if _, err := c.ExecContext(ctx, q, topic, kind, string(payload), at.UTC()); err != nil {
		return fmt.Errorf("outbox: append: %w", err)
	}
	return nil
}

// InsertSQL is the statement that appends an event, with the placeholders
// given (topic, kind, payload, at: PostgreSQL's $n, already cast as
// needed), for a caller that writes it as part of a statement of its own
// (a data-modifying CTE: one round trip for the change and its event).
func InsertSQL(topic, kind, payload, at string) string {
	return "INSERT INTO outbox_events (topic, kind, payload, at) VALUES (" + topic + ", " + kind + ", " + payload + ", " + at + ")"
}

// Sequence numbers the events of committed transactions, in the order they
// were written, after the numbers already given, and returns how many it
// numbered; see the package's doc. On PostgreSQL it wakes the readers of
// every process when it numbered something.
func Sequence(ctx context.Context, client *ent.Client) (int64, error) {
	return SequenceAs(ctx, client, "")
}

// SequenceAs is Sequence whose wake-up carries payload: a process that
// passes a token of its own can tell its own wake-ups (it reads the outbox
// right after numbering anyway) from other processes' (Woken).
//
// On PostgreSQL it is one round trip and one prepared statement: the
// function outbox_sequence (migration 20261201050000_outbox_sequence.sql)
// takes the lock, then numbers in a query of its own, which takes its
// snapshot once the lock is granted (READ COMMITTED: a snapshot per query
// of a volatile function), so it sees every number the sequencer before it
// gave; it sends the wake-up only when it numbered something. A run that
// finds nothing to number costs one round trip, not five (BEGIN, lock,
// numbering, COMMIT as separate messages, which the hub's poll paid every
// second on an idle server and every write paid after its commit), and
// PostgreSQL plans the numbering once per connection, not on every run.
func SequenceAs(ctx context.Context, client *ent.Client, payload string) (int64, error) {
	if client.Dialect() != dialect.Postgres {
		// SQLite's one writer orders the sequencers.
		tx, err := client.Tx(ctx)
		if err != nil {
			return 0, err
		}
		res, err := tx.Client().ExecContext(ctx, numbering)
		if err != nil {
			return 0, rollback(tx, fmt.Errorf("outbox: sequence: %w", err))
		}
		n, _ := res.RowsAffected()
		return n, tx.Commit()
	}
	rows, err := client.QueryContext(ctx, SequenceSQL, int64(sequencerLock), SequenceChunk, Channel, payload)
	if err != nil {
		return 0, fmt.Errorf("outbox: sequence: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return 0, fmt.Errorf("outbox: sequence: %w", err)
		}
		return 0, errors.New("outbox: sequence: no count")
	}
	var n int64
	if err := rows.Scan(&n); err != nil {
		return 0, fmt.Errorf("outbox: sequence: %w", err)
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("outbox: sequence: %w", err)
	}
	return n, rows.Err()
}

// SequenceSQL is the statement of a run of the sequencer on PostgreSQL.
const SequenceSQL = "SELECT outbox_sequence($1, $2, $3, $4)"

// numbering is the statement that numbers the waiting events, at most
// SequenceChunk of them, on SQLite (PostgreSQL's is the function
// outbox_sequence's).
var numbering = `WITH base AS (SELECT COALESCE(MAX(seq), 0) AS top FROM outbox_events),
todo AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM (
  SELECT id FROM outbox_events WHERE seq IS NULL ORDER BY id LIMIT ` + strconv.Itoa(SequenceChunk) + `) x)
UPDATE outbox_events SET seq = (SELECT top FROM base) + todo.rn FROM todo WHERE outbox_events.id = todo.id`

// Woken reports whether a wake-up with payload (a notification on
// Channel) may be of events this process has not read: false only for the
// wake-ups of its own sequencer, whose events it reads right after
// numbering them (token: what it passes to SequenceAs; "" never matches).
func Woken(payload, token string) bool { return token == "" || payload != token }

func rollback(tx *ent.Tx, err error) error {
	_ = tx.Rollback()
	return err
}

// Read returns at most limit numbered events after position after, of one
// topic when topic is not empty, up to position upto when upto > 0, in
// order.
func Read(ctx context.Context, c *ent.Client, topic string, after, upto int64, limit int) ([]Event, error) {
	a := args{pg: c.Dialect() == dialect.Postgres}
	q := "SELECT seq, topic, kind, payload FROM outbox_events WHERE seq > " + a.add(after)
	if topic != "" {
		q += " AND topic = " + a.add(topic)
	}
	if upto > 0 {
		q += " AND seq <= " + a.add(upto)
	}
	q += " ORDER BY seq LIMIT " + strconv.Itoa(limit)
	rows, err := c.QueryContext(ctx, q, a.vals...)
	if err != nil {
		return nil, fmt.Errorf("outbox: read: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var payload string
		if err := rows.Scan(&e.Seq, &e.Topic, &e.Kind, &payload); err != nil {
			return nil, fmt.Errorf("outbox: read: %w", err)
		}
		e.Payload = []byte(payload)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Bounds returns the oldest and newest positions kept (0, 0 for an empty
// outbox).
func Bounds(ctx context.Context, c *ent.Client) (lo, hi int64, err error) {
	// Two subqueries, each answered by the index at once.
	rows, err := c.QueryContext(ctx, "SELECT (SELECT MIN(seq) FROM outbox_events), (SELECT MAX(seq) FROM outbox_events)")
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: bounds: %w", err)
	}
	defer rows.Close()
	var l, h stdsql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&l, &h); err != nil {
			return 0, 0, fmt.Errorf("outbox: bounds: %w", err)
		}
	}
	return l.Int64, h.Int64, rows.Err()
}

// Class is a set of topics kept for a time of their own (Live: a day by
// default, for subscribers that resume; Listings: a month, for portals that
// copy the listings and webhooks that deliver them), each pruned in position
// order with its own floor: the position at or below which its events may
// be gone. A reader of a class resumes after n when n is at or above the
// floor, and is told to resync (ErrResync) when it is below.
type Class struct {
	// name keys the class's floor (outbox_floors.id).
	name string
	// where is the SQL condition on outbox_events of its events.
	where string
}

// ListingsPrefix starts the topic of every listing change: "listings/"
// and the listing's project id (package listing), so that a reader limited
// to some projects reads the index (topic, seq) of theirs only.
const ListingsPrefix = "listings/"

var (
	// Live is the events of live subscriptions: units, grids, complaints.
	Live = Class{name: "live", where: "topic NOT LIKE '" + ListingsPrefix + "%'"}
	// Listings is the listing change log (package listing), which portals
	// and webhooks read.
	Listings = Class{name: "listings", where: "topic LIKE '" + ListingsPrefix + "%'"}
)

// Where is the SQL condition on outbox_events of the class's events.
func (c Class) Where() string { return c.where }

// BoundsSQL returns two SQL expressions: the class's floor (0 when nothing
// of it was pruned) and its newest position (0 when it has no event), for
// a reader to take in the same statement as the events it reads: one
// snapshot, so that a prune commits either before all three or after
// them. The newest position of the class alone: that of all events would
// tell a reader of one class the pace of every other.
func (c Class) BoundsSQL() (floor, newest string) {
	return "COALESCE((SELECT seq FROM outbox_floors WHERE id = '" + c.name + "'), 0)",
		"COALESCE((SELECT MAX(seq) FROM outbox_events WHERE " + c.where + "), 0)"
}

// Check answers whether a live subscriber may resume after position after:
// nil when every live event after it is kept, ErrResync when some were
// pruned, a BAD_USER_INPUT error when no event was ever numbered so (a
// made-up id).
func Check(ctx context.Context, c *ent.Client, after int64) error {
	return CheckClass(ctx, c, Live, after)
}

// CheckClass is Check for the events of a class.
func CheckClass(ctx context.Context, c *ent.Client, class Class, after int64) error {
	floor, hi, err := BoundsOf(ctx, c, class)
	switch {
	case err != nil:
		return err
	case after > hi:
		return apperr.Input("after", "not the id of an event")
	case after < floor:
		return ErrResync
	}
	return nil
}

// BoundsOf returns the class's floor (0 when nothing of it was pruned) and
// the newest position of all, read together.
func BoundsOf(ctx context.Context, c *ent.Client, class Class) (floor, hi int64, err error) {
	a := args{pg: c.Dialect() == dialect.Postgres}
	rows, err := c.QueryContext(ctx, "SELECT (SELECT seq FROM outbox_floors WHERE id = "+a.add(class.name)+
		"), (SELECT MAX(seq) FROM outbox_events)", a.vals...)
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: bounds: %w", err)
	}
	defer rows.Close()
	var f, h stdsql.NullInt64
	if rows.Next() {
		if err := rows.Scan(&f, &h); err != nil {
			return 0, 0, fmt.Errorf("outbox: bounds: %w", err)
		}
	}
	return f.Int64, h.Int64, rows.Err()
}

// ErrResync answers an `after` older than the oldest event kept: the events
// after it are gone, and the subscriber reloads what it shows and
// subscribes again without `after`.
var ErrResync = &apperr.Error{Code: apperr.BadUserInput, Field: "after", Reason: apperr.ReasonResyncRequired,
	Message: "the events after this id are no longer kept: load the current state again and subscribe without after"}

// Prune removes the live events written before now less keep (PruneClass
// of Live).
func Prune(ctx context.Context, c *ent.Client, now time.Time, keep time.Duration) (int64, error) {
	return PruneClass(ctx, c, Live, now, keep)
}

// PruneClass removes the events of a class written before now less keep,
// in position order, and raises the class's floor to the last position
// removed, in one transaction: a reader after n then finds either every
// event of the class after n or ErrResync. It never removes the newest
// event of all, whose number the next ones follow.
func PruneClass(ctx context.Context, c *ent.Client, class Class, now time.Time, keep time.Duration) (int64, error) {
	tx, err := c.Tx(ctx)
	if err != nil {
		return 0, err
	}
	tc := tx.Client()
	a := args{pg: c.Dialect() == dialect.Postgres}
	cutoff := a.add(now.Add(-keep).UTC())
	if a.pg {
		cutoff = "CAST(" + cutoff + " AS timestamptz)"
	}
	// The last position to remove: the class's newest event written before
	// the cutoff, below the newest event of all.
	rows, err := tc.QueryContext(ctx, `SELECT
  (SELECT MAX(seq) FROM outbox_events WHERE seq IS NOT NULL AND at < `+cutoff+` AND `+class.where+`),
  (SELECT MAX(seq) FROM outbox_events)`, a.vals...)
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("outbox: prune: %w", err))
	}
	var upto, top stdsql.NullInt64
	if rows.Next() {
		err = rows.Scan(&upto, &top)
	}
	rows.Close()
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("outbox: prune: %w", err))
	}
	if !upto.Valid {
		return 0, rollback(tx, nil) // nothing of the class is old enough
	}
	upto.Int64 = min(upto.Int64, top.Int64-1)
	if upto.Int64 <= 0 {
		return 0, rollback(tx, nil)
	}
	a = args{pg: a.pg}
	res, err := tc.ExecContext(ctx, "DELETE FROM outbox_events WHERE seq <= "+a.add(upto.Int64)+" AND "+class.where, a.vals...)
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("outbox: prune: %w", err))
	}
	n, _ := res.RowsAffected()
	if err := raiseFloor(ctx, tc, class, upto.Int64); err != nil {
		return 0, rollback(tx, err)
	}
	return n, tx.Commit()
}

// raiseFloor sets the class's floor to seq unless it is higher already
// (two pruners at once, for a moment: see package lease).
func raiseFloor(ctx context.Context, c *ent.Client, class Class, seq int64) error {
	a := args{pg: c.Dialect() == dialect.Postgres}
	greatest := "max"
	if a.pg {
		greatest = "GREATEST"
	}
	_, err := c.ExecContext(ctx, "INSERT INTO outbox_floors (id, seq) VALUES ("+a.add(class.name)+", "+a.add(seq)+
		") ON CONFLICT (id) DO UPDATE SET seq = "+greatest+"(outbox_floors.seq, excluded.seq)", a.vals...)
	if err != nil {
		return fmt.Errorf("outbox: floor: %w", err)
	}
	return nil
}

const idPrefix = "ev:"

// EncodeID is the id of the event at position seq in the API (eventId).
func EncodeID(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(idPrefix + strconv.FormatInt(seq, 10)))
}

// DecodeID reads an eventId; field names the argument in the error.
func DecodeID(s, field string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if rest, ok := strings.CutPrefix(string(b), idPrefix); err == nil && ok {
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, apperr.Input(field, "not the id of an event")
}

// args collects the bind parameters of a statement written by hand.
type args struct {
	pg   bool
	vals []any
}

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	if a.pg {
		return fmt.Sprintf("$%d", len(a.vals))
	}
	return "?"
}
