package listing_test

import (
	"context"
	stdsql "database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/apperr"
	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/ent"
	"estatecrm/listing"
	"estatecrm/outbox"
)

// pruneFirst is a driver that runs prune, once, just before the first
// statement that reads lines of the log (and after whatever ran before it).
type pruneFirst struct {
	dialect.Driver
	once  sync.Once
	prune func()
}

func (d *pruneFirst) QueryContext(ctx context.Context, q string, args ...any) (*stdsql.Rows, error) {
	if strings.Contains(q, "FROM outbox_events WHERE seq >") {
		d.once.Do(d.prune)
	}
	return d.Driver.(interface {
		QueryContext(context.Context, string, ...any) (*stdsql.Rows, error)
	}).QueryContext(ctx, q, args...)
}

// appendLines writes n numbered lines of the log written at at, and
// returns the position of the last.
func appendLines(t *testing.T, c *ent.Client, n int, at time.Time) int64 {
	t.Helper()
	sys := auth.SystemContext(t.Context())
	for i := range n {
		body := fmt.Sprintf(`{"listingId":"UN%d","projectId":"PJ1"}`, i)
		if err := outbox.Append(sys, c, outbox.ListingsPrefix+"PJ1", "UPSERT", []byte(body), at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := outbox.Sequence(sys, c); err != nil {
		t.Fatal(err)
	}
	_, hi, err := outbox.Bounds(sys, c)
	if err != nil {
		t.Fatal(err)
	}
	return hi
}

// A prune that commits while a poller reads, after the poller's cursor was
// checked against the floor: the poller, whose cursor was at the very
// floor, is told to copy again (RESYNC_REQUIRED), never handed the lines
// after the ones pruned as if nothing were missing. Before the fix the
// floor and the lines were two statements, and the prune between them let
// the read skip 3 lines.
func TestChangesAtTheFloorRacingAPrune(t *testing.T) {
	db := dbtest.Open(t)
	client := database.NewClient(db.Driver)
	now := time.Now()
	appendLines(t, client, 5, now.Add(-40*24*time.Hour))
	appendLines(t, client, 3, now.Add(-20*24*time.Hour))
	last := appendLines(t, client, 4, now)
	if _, err := listing.Prune(t.Context(), client, now); err != nil {
		t.Fatal(err)
	}
	floor := last - 7 // the 5 oldest lines are gone
	drv := &pruneFirst{Driver: db.Driver, prune: func() {
		// 15 days later the next 3 lines are old enough to go too.
		if n, err := listing.Prune(t.Context(), client, now.Add(15*24*time.Hour)); err != nil || n != 3 {
			t.Errorf("the racing prune removed %d lines (%v), want 3", n, err)
		}
	}}
	portal := auth.NewContext(t.Context(), &auth.Viewer{Role: auth.RolePortal})
	// A page the lines left fill: read once (a page they did not fill is
	// read again after numbering, which would notice the new floor).
	page, err := listing.ReadChanges(portal, database.NewClient(drv), listing.EncodeCursor(floor), 2)
	if e, ok := apperr.As(err); !ok || e.Reason != apperr.ReasonResyncRequired {
		var got []int64
		if page != nil {
			for _, c := range page.Changes {
				got = append(got, c.Sequence)
			}
		}
		t.Fatalf("a cursor at the floor read while 3 lines after it were pruned: changes %v, err %v; want RESYNC_REQUIRED", got, err)
	}
}

// listingChanges' head is the newest line of the log, not the newest event
// of the outbox: the live events written after it (a tour's holds and
// releases) are none of a portal's business, and their pace is the
// company's. Before the fix head was the outbox's newest position.
func TestChangesHeadIsTheLogsOwn(t *testing.T) {
	db := dbtest.Open(t)
	client := database.NewClient(db.Driver)
	sys := auth.SystemContext(t.Context())
	last := appendLines(t, client, 2, time.Now())
	for range 3 {
		if err := outbox.Append(sys, client, "PJ1", "unit", []byte(`{"unit":{}}`), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := outbox.Sequence(sys, client); err != nil {
		t.Fatal(err)
	}
	portal := auth.NewContext(t.Context(), &auth.Viewer{Role: auth.RolePortal})
	page, err := listing.ReadChanges(portal, client, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if page.Head != listing.EncodeCursor(last) {
		t.Fatalf("head %s, want %s (the log's newest line, %d)", page.Head, listing.EncodeCursor(last), last)
	}
	// The head reads on: nothing after it, and the cursor is good.
	page, err = listing.ReadChanges(portal, client, page.Head, listing.MaxPage)
	if err != nil || len(page.Changes) != 0 {
		t.Fatalf("after the head: %v, %v; want no change", page, err)
	}
}
