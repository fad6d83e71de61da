package listing

import (
	"context"
	stdsql "database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/listingchange"
	"estatecrm/ent/schema/pulid"
	"estatecrm/rule"
)

// Retention is how long the change log keeps a line at least; Prune
// removes lines older than that and a day more.
const Retention = 30 * 24 * time.Hour

// MaxPage is the largest page of listings and of changes.
const MaxPage = 100

// SequenceChunk is the most lines one run of Sequence numbers: it bounds
// how long the sequencers' lock is held.
const SequenceChunk = 10_000

// sequencerLock is the key of the PostgreSQL advisory lock under which one
// sequencer at a time numbers lines ("listing" in ASCII).
const sequencerLock = 0x6c697374696e67

// Sequence numbers the lines written by committed transactions, in the
// order they were written (their ids), after the numbers already given,
// and returns how many it numbered. A line gets its number only once its
// transaction has committed (the sequencer's statement sees no other), and
// sequencers take turns, each committing its numbers before the next one
// reads the largest (a transaction-scoped advisory lock on PostgreSQL;
// SQLite's one writer): numbers become visible in increasing order, so a
// poller that has read up to n never later finds a line numbered n or
// below, however late the line's transaction committed. Numbers are
// contiguous: 1, 2, 3, … Within one listing, changes are numbered in the
// order they were made (a later change of a unit waits for the earlier
// one's commit before it writes its line).
//
// One run numbers at most SequenceChunk lines, through a plain scan of
// the index of unnumbered lines (which also marks the entries of lines
// numbered before as dead, so that an idle run reads almost nothing).
// Pollers run it before they read (ReadChanges).
func Sequence(ctx context.Context, client *ent.Client) (int64, error) {
	tx, err := client.Tx(ctx)
	if err != nil {
		return 0, err
	}
	if client.Dialect() == dialect.Postgres {
		if _, err := tx.Client().ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", sequencerLock); err != nil {
			return 0, rollback(tx, err)
		}
	}
	res, err := tx.Client().ExecContext(ctx, `WITH base AS (SELECT COALESCE(MAX(seq), 0) AS top FROM listing_changes),
todo AS (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM (
  SELECT id FROM listing_changes WHERE seq IS NULL ORDER BY id LIMIT `+strconv.Itoa(SequenceChunk)+`) x)
UPDATE listing_changes SET seq = (SELECT top FROM base) + todo.rn FROM todo WHERE listing_changes.id = todo.id`)
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("listing: sequence: %w", err))
	}
	n, _ := res.RowsAffected()
	return n, tx.Commit()
}

func rollback(tx *ent.Tx, err error) error {
	_ = tx.Rollback()
	return err
}

// Change is one line of the change log as a portal reads it.
type Change struct {
	Sequence  int64
	ListingID pulid.ID
	Kind      Kind
	At        time.Time
}

// ID is the change's id in the API: its cursor.
func (c Change) ID() pulid.ID { return pulid.ID(c.Cursor()) }

// Cursor is the opaque cursor of the change after which a poller continues.
func (c Change) Cursor() string { return EncodeCursor(c.Sequence) }

// Changes is a page of the change log.
type Changes struct {
	Changes []Change
	HasNext bool
	// Head is the cursor of the newest line numbered so far, which a portal
	// that starts a copy takes before it reads listings.
	Head string
	// After is the cursor the page started after.
	After string
}

const cursorPrefix = "lc:"

// EncodeCursor is the cursor after the line numbered seq.
func EncodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(seq, 10)))
}

// DecodeCursor reads a cursor of the change log; "" is the start of it.
func DecodeCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if rest, ok := strings.CutPrefix(string(b), cursorPrefix); err == nil && ok {
		if n, err := strconv.ParseInt(rest, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, apperr.Input("after", "not a cursor of listingChanges")
}

// ErrResync answers a cursor older than the oldest line kept: the changes
// after it are gone, and the portal copies listings again (taking the head
// cursor first).
var ErrResync = &apperr.Error{Code: apperr.BadUserInput, Field: "after", Reason: apperr.ReasonResyncRequired,
	Message: fmt.Sprintf("the changes after this cursor are no longer kept (at least %d days are): copy listings again, starting from listingChanges' head", int(Retention.Hours()/24))}

// ReadChanges returns the lines after cursor after that the viewer may
// read (a portal those of its key's projects, staff those of their
// projects), at most first, in sequence order. When the lines numbered
// already do not fill the page, it numbers what waits (Sequence, on client,
// in a transaction of its own) and reads again.
func ReadChanges(ctx context.Context, client *ent.Client, after string, first int) (*Changes, error) {
	if err := mayRead(ctx); err != nil {
		return nil, err
	}
	if first < 0 || first > MaxPage {
		return nil, apperr.Input("first", "between 0 and %d", MaxPage)
	}
	from, err := DecodeCursor(after)
	if err != nil {
		return nil, err
	}
	out, err := readChanges(ctx, client, from, after != "", first)
	if err != nil || (out.HasNext && first > 0) {
		return out, err // a full page: the lines numbered already fill it
	}
	numbered, err := Sequence(auth.SystemContext(ctx), client)
	if err != nil || numbered == 0 {
		return out, err
	}
	if out, err = readChanges(ctx, client, from, after != "", first); err != nil {
		return nil, err
	}
	// More lines wait to be numbered: the next read numbers them.
	out.HasNext = out.HasNext || numbered == SequenceChunk
	return out, nil
}

// readChanges reads the lines numbered after from (given: a cursor, not
// the start), at most first.
func readChanges(ctx context.Context, client *ent.Client, from int64, given bool, first int) (*Changes, error) {
	// The oldest and newest numbers kept: they say nothing of any project.
	// Two subqueries, each of which an index answers at once (SQLite
	// scans the table for MIN and MAX in one aggregate).
	var bounds []struct {
		Lo stdsql.NullInt64 `json:"lo"`
		Hi stdsql.NullInt64 `json:"hi"`
	}
	err := client.ListingChange.Query().Limit(1).Modify(func(s *sql.Selector) {
		s.Select()
		s.AppendSelectExprAs(sql.Raw("(SELECT MIN(seq) FROM listing_changes)"), "lo")
		s.AppendSelectExprAs(sql.Raw("(SELECT MAX(seq) FROM listing_changes)"), "hi")
	}).Scan(auth.SystemContext(ctx), &bounds)
	if err != nil {
		return nil, err
	}
	var lo0, hi0 stdsql.NullInt64 // none: an empty log
	if len(bounds) > 0 {
		lo0, hi0 = bounds[0].Lo, bounds[0].Hi
	}
	lo, hi := lo0.Int64, hi0.Int64
	switch {
	case from > hi: // numbers only grow: no sequencer has given this one
		return nil, apperr.Input("after", "not a cursor of listingChanges")
	case lo0.Valid && given && from < lo-1:
		return nil, ErrResync
	}
	rows, err := client.ListingChange.Query().
		Where(listingchange.SeqGT(from)).
		Order(ent.Asc(listingchange.FieldSeq)).Limit(first+1).
		Select(listingchange.FieldSeq, listingchange.FieldListingID, listingchange.FieldKind, listingchange.FieldAt).
		All(ctx)
	if err != nil {
		return nil, err
	}
	out := &Changes{Head: EncodeCursor(hi), After: EncodeCursor(from)}
	if len(rows) > first {
		out.HasNext, rows = true, rows[:first]
	}
	out.Changes = make([]Change, len(rows))
	for i, r := range rows {
		out.Changes[i] = Change{Sequence: *r.Seq, ListingID: r.ListingID, Kind: Kind(r.Kind.String()), At: r.At.UTC()}
	}
	return out, nil
}

// mayRead lets portals and staff read listings and their changes; a
// homeowner is refused, anonymous callers are asked to sign in.
func mayRead(ctx context.Context) error {
	v := auth.FromContext(ctx)
	switch {
	case v == nil:
		return rule.ErrUnauthenticated
	case v.Role == auth.RolePortal || rule.IsStaff(v):
		return nil
	}
	return apperr.New(apperr.Forbidden, "listings are for portals and staff")
}

// Prune removes the lines older than Retention and a day, in sequence
// order (a cursor then finds either every line after it or ErrResync), and
// never the newest line, whose number the next ones follow.
func Prune(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	cutoff := now.Add(-Retention - 24*time.Hour).UTC()
	var rows []struct {
		Top stdsql.NullInt64 `json:"top"`
	}
	err := client.ListingChange.Query().Where(listingchange.SeqNotNil(), listingchange.AtLT(cutoff)).
		Aggregate(ent.As(ent.Max(listingchange.FieldSeq), "top")).Scan(ctx, &rows)
	if err != nil || len(rows) == 0 || !rows[0].Top.Valid {
		return 0, err
	}
	var newest []struct {
		Top stdsql.NullInt64 `json:"top"`
	}
	if err := client.ListingChange.Query().Aggregate(ent.As(ent.Max(listingchange.FieldSeq), "top")).Scan(ctx, &newest); err != nil {
		return 0, err
	}
	return client.ListingChange.Delete().
		Where(listingchange.SeqLTE(rows[0].Top.Int64), listingchange.SeqLT(newest[0].Top.Int64)).
		Exec(ctx)
}
