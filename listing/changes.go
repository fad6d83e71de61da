package listing

import (
	"context"
	stdsql "database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/schema/pulid"
	"estatecrm/outbox"
	"estatecrm/rule"
)

// Retention is how long the change log keeps a line at least; Prune
// removes lines older than that and a day. It is the log's own (class
// outbox.Listings), not the live events' (outbox.DefaultRetention).
const Retention = 30 * 24 * time.Hour

// MaxPage is the largest page of listings and of changes.
const MaxPage = 100

// Line is one line of the change log as the outbox keeps it.
type Line struct {
	Seq       int64
	ListingID pulid.ID
	ProjectID pulid.ID
	Kind      Kind
	At        time.Time
}

// payload is a line's payload in the outbox (lineColumns writes it).
type payload struct {
	ListingID pulid.ID `json:"listingId"`
	ProjectID pulid.ID `json:"projectId"`
}

// Lines returns at most limit numbered lines after position after, of the
// given projects' listings (of every project's when every), in sequence
// order. It reads as the caller in ctx decides: it checks no viewer.
func Lines(ctx context.Context, c *ent.Client, after int64, projects []pulid.ID, every bool, limit int) ([]Line, error) {
	if !every && len(projects) == 0 {
		return nil, nil
	}
	a := args{pg: c.Dialect() == dialect.Postgres}
	return scanLines(ctx, c, linesSQL(&a, after, projects, every, limit), a.vals)
}

// linesSQL is the statement of Lines. Its condition names the listing
// class, which the partial index (seq) of listing events answers in
// position order, whatever the statistics say (on an outbox never
// analysed PostgreSQL read the live events too); a limited reader's topics
// may take the index (topic, seq) instead.
func linesSQL(a *args, after int64, projects []pulid.ID, every bool, limit int) string {
	q := "SELECT seq, kind, payload, at FROM outbox_events WHERE seq > " + a.add(after) + " AND " + outbox.Listings.Where()
	if !every {
		ps := make([]string, len(projects))
		for i, p := range projects {
			ps[i] = a.add(outbox.ListingsPrefix + string(p))
		}
		if len(ps) == 0 {
			ps = []string{"NULL"} // no project: no line
		}
		q += " AND topic IN (" + strings.Join(ps, ", ") + ")"
	}
	return q + " ORDER BY seq LIMIT " + strconv.Itoa(limit)
}

// LineAt returns the line numbered seq, if the log keeps it.
func LineAt(ctx context.Context, c *ent.Client, seq int64) (Line, bool, error) {
	a := args{pg: c.Dialect() == dialect.Postgres}
	ls, err := scanLines(ctx, c, "SELECT seq, kind, payload, at FROM outbox_events WHERE seq = "+a.add(seq)+
		" AND "+outbox.Listings.Where(), a.vals)
	if err != nil || len(ls) == 0 {
		return Line{}, false, err
	}
	return ls[0], true, nil
}

// page reads Lines with the log's floor and its newest position in one
// statement, so in one snapshot: a prune that commits meanwhile has either
// removed the lines and raised the floor, or neither. Read apart, a prune
// committing between the floor and the lines let a cursor at the old
// floor pass and then skip the lines removed, without ErrResync. The
// newest position is never below the floor (a prune may remove the log's
// newest line, when live events follow it).
func page(ctx context.Context, c *ent.Client, after int64, projects []pulid.ID, every bool, limit int) (floor, newest int64, lines []Line, err error) {
	a := args{pg: c.Dialect() == dialect.Postgres}
	fl, nw := outbox.Listings.BoundsSQL()
	q := "SELECT b.floor, b.newest, e.seq, e.kind, e.payload, e.at FROM (SELECT " + fl + " AS floor, " + nw + " AS newest) b" +
		" LEFT JOIN (" + linesSQL(&a, after, projects, every, limit) + ") e ON 1 = 1 ORDER BY e.seq"
	rows, err := c.QueryContext(ctx, q, a.vals...)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("listing: read the log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq        stdsql.NullInt64
			kind, body stdsql.NullString
			at         stdsql.NullTime
		)
		if err := rows.Scan(&floor, &newest, &seq, &kind, &body, &at); err != nil {
			return 0, 0, nil, fmt.Errorf("listing: read the log: %w", err)
		}
		if !seq.Valid {
			continue // no line: the bounds alone
		}
		l, err := line(seq.Int64, kind.String, body.String, at.Time)
		if err != nil {
			return 0, 0, nil, err
		}
		lines = append(lines, l)
	}
	return floor, max(floor, newest), lines, rows.Err()
}

func scanLines(ctx context.Context, c *ent.Client, q string, vals []any) ([]Line, error) {
	rows, err := c.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, fmt.Errorf("listing: read the log: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var (
			seq        int64
			kind, body string
			at         time.Time
		)
		if err := rows.Scan(&seq, &kind, &body, &at); err != nil {
			return nil, fmt.Errorf("listing: read the log: %w", err)
		}
		l, err := line(seq, kind, body, at)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// line is a line of the log from its event's columns.
func line(seq int64, kind, body string, at time.Time) (Line, error) {
	var p payload
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return Line{}, fmt.Errorf("listing: line %d: %w", seq, err)
	}
	return Line{Seq: seq, ListingID: p.ListingID, ProjectID: p.ProjectID, Kind: Kind(kind), At: at.UTC()}, nil
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
	// Head is the cursor of the newest line numbered so far (of any
	// project), which a portal that starts a copy takes before it reads
	// listings.
	Head string
	// After is the cursor the page started after.
	After string
}

// cursorPrefix starts a cursor: a position in the outbox. oldCursorPrefix
// started those of the log's own table before it moved into the outbox
// (migration 20261129220000), whose numbers are not the outbox's: they
// answer ErrResync.
const (
	cursorPrefix    = "lo:"
	oldCursorPrefix = "lc:"
)

// EncodeCursor is the cursor after the event numbered seq.
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
	if err == nil && strings.HasPrefix(string(b), oldCursorPrefix) {
		return 0, ErrResync
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
// projects: rule.ListingChangeProjects), at most first, in sequence order.
// When the events numbered already do not fill the page, it numbers what
// waits (outbox.Sequence, on client, in a transaction of its own) and
// reads again.
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
	// Read again even when this run numbered nothing: another sequencer
	// (a live hub's, after every commit) may have numbered the lines the
	// first read missed, committing while this one waited for its lock.
	numbered, err := outbox.Sequence(auth.SystemContext(ctx), client)
	if err != nil {
		return out, err
	}
	if out, err = readChanges(ctx, client, from, after != "", first); err != nil {
		return nil, err
	}
	// More events wait to be numbered: the next read numbers them.
	out.HasNext = out.HasNext || numbered == outbox.SequenceChunk
	return out, nil
}

// readChanges reads the lines numbered after from (given: a cursor, not
// the start), at most first.
func readChanges(ctx context.Context, client *ent.Client, from int64, given bool, first int) (*Changes, error) {
	projects, every := rule.ListingChangeProjects(auth.FromContext(ctx))
	// The log's floor and newest position say nothing of any project.
	floor, newest, lines, err := page(auth.SystemContext(ctx), client, from, projects, every, first+1)
	switch {
	case err != nil:
		return nil, err
	case from > newest:
		// Beyond every line: made up, or a head taken before head was the
		// log's own (the outbox's newest event of any kind then). Copying
		// again is always safe; "not a cursor" here would tell the caller
		// where the other events stand.
		return nil, ErrResync
	case given && from < floor:
		return nil, ErrResync
	}
	out := &Changes{Head: EncodeCursor(newest), After: EncodeCursor(from)}
	if len(lines) > first {
		out.HasNext, lines = true, lines[:first]
	}
	out.Changes = make([]Change, len(lines))
	for i, l := range lines {
		out.Changes[i] = Change{Sequence: l.Seq, ListingID: l.ListingID, Kind: l.Kind, At: l.At}
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

// Prune removes the lines older than Retention and a day (see
// outbox.PruneClass): a cursor then finds either every line after it or
// ErrResync.
func Prune(ctx context.Context, client *ent.Client, now time.Time) (int, error) {
	n, err := outbox.PruneClass(ctx, client, outbox.Listings, now, Retention+24*time.Hour)
	return int(n), err
}
