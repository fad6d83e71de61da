package listing

import (
	"context"
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
	q := "SELECT seq, kind, payload, at FROM outbox_events WHERE seq > " + a.add(after) + " AND "
	if every {
		q += outbox.Listings.Where()
	} else {
		ps := make([]string, len(projects))
		for i, p := range projects {
			ps[i] = a.add(outbox.ListingsPrefix + string(p))
		}
		// The index (topic, seq) of each project's topic.
		q += "topic IN (" + strings.Join(ps, ", ") + ")"
	}
	q += " ORDER BY seq LIMIT " + strconv.Itoa(limit)
	return scanLines(ctx, c, q, a.vals)
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

func scanLines(ctx context.Context, c *ent.Client, q string, vals []any) ([]Line, error) {
	rows, err := c.QueryContext(ctx, q, vals...)
	if err != nil {
		return nil, fmt.Errorf("listing: read the log: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var (
			l    Line
			kind string
			body string
		)
		if err := rows.Scan(&l.Seq, &kind, &body, &l.At); err != nil {
			return nil, fmt.Errorf("listing: read the log: %w", err)
		}
		var p payload
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return nil, fmt.Errorf("listing: line %d: %w", l.Seq, err)
		}
		l.ListingID, l.ProjectID, l.Kind, l.At = p.ListingID, p.ProjectID, Kind(kind), l.At.UTC()
		out = append(out, l)
	}
	return out, rows.Err()
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
	// Head is the cursor of the newest event numbered so far, which a portal
	// that starts a copy takes before it reads listings.
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
	sys := auth.SystemContext(ctx)
	// The log's floor and the newest position: they say nothing of any
	// project.
	floor, hi, err := outbox.BoundsOf(sys, client, outbox.Listings)
	switch {
	case err != nil:
		return nil, err
	case from > hi: // numbers only grow: no sequencer has given this one
		return nil, apperr.Input("after", "not a cursor of listingChanges")
	case given && from < floor:
		return nil, ErrResync
	}
	projects, every := rule.ListingChangeProjects(auth.FromContext(ctx))
	lines, err := Lines(sys, client, from, projects, every, first+1)
	if err != nil {
		return nil, err
	}
	out := &Changes{Head: EncodeCursor(hi), After: EncodeCursor(from)}
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
