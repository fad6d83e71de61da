package listing_test

import (
	"context"
	"testing"
	"time"

	"entgo.io/ent/dialect"

	"estatecrm/auth"
	"estatecrm/database"
	"estatecrm/database/dbtest"
	"estatecrm/listing"
	"estatecrm/outbox"
)

// BenchmarkChangesCatchUp: a portal's poller catching up on 100,000
// changes written since its cursor, in pages of 100 through ReadChanges:
// "unnumbered", none numbered yet (the sequencer numbers them as the
// poller reads, 10,000 a run), or "numbered" (another poller's reads did);
// "mixed": numbered, each line followed in the outbox by a live event (a
// unit's change of status writes both), which the poller reads past.
// Reported as changes/s. Run it on PostgreSQL with
// TEST_DATABASE_URL set:
//
//	go test ./listing -run '^$' -bench ChangesCatchUp -benchtime 3x
func BenchmarkChangesCatchUp(b *testing.B) {
	b.Run("unnumbered", func(b *testing.B) { benchmarkCatchUp(b, false, false) })
	b.Run("numbered", func(b *testing.B) { benchmarkCatchUp(b, true, false) })
	b.Run("mixed", func(b *testing.B) { benchmarkCatchUp(b, true, true) })
}

func benchmarkCatchUp(b *testing.B, numbered, mixed bool) {
	const lines = 100_000
	db := dbtest.Open(b)
	client := database.NewClient(db.Driver)
	sys := auth.SystemContext(context.Background())
	portal := auth.NewContext(context.Background(), &auth.Viewer{Role: auth.RolePortal})
	// Lines as package listing writes them (events of the outbox); with
	// mixed, a live event after each (n + 0.5 orders them).
	events := "SELECT n AS o, 'listings/PJ1' AS topic, 'UPSERT' AS kind, '{\"listingId\":\"UN' || n || '\",\"projectId\":\"PJ1\"}' AS payload FROM g"
	if mixed {
		events += " UNION ALL SELECT n + 0.5, 'PJ1', 'unit', '{\"unit\":{}}' FROM g"
	}
	insert := `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ?)
INSERT INTO outbox_events (topic, kind, payload, at) SELECT topic, kind, payload, ? FROM (` + events + `) e ORDER BY o`
	if db.Dialect == dialect.Postgres {
		insert = `WITH g(n) AS (SELECT generate_series(1, $1::int))
INSERT INTO outbox_events (topic, kind, payload, at) SELECT topic, kind, payload, $2::timestamptz FROM (` + events + `) e ORDER BY o`
	}
	var read int
	var spent time.Duration
	for b.Loop() {
		b.StopTimer()
		if _, err := client.ExecContext(sys, "DELETE FROM outbox_events"); err != nil {
			b.Fatal(err)
		}
		if _, err := client.ExecContext(sys, insert, lines, time.Now().UTC()); err != nil {
			b.Fatal(err)
		}
		for numbered {
			n, err := outbox.Sequence(sys, client)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		b.StartTimer()
		start := time.Now()
		after, n := "", 0
		for {
			page, err := listing.ReadChanges(portal, client, after, listing.MaxPage)
			if err != nil {
				b.Fatal(err)
			}
			n += len(page.Changes)
			if len(page.Changes) > 0 {
				after = page.Changes[len(page.Changes)-1].Cursor()
			}
			if !page.HasNext {
				break
			}
		}
		spent += time.Since(start)
		if n != lines {
			b.Fatalf("caught up on %d changes, want %d", n, lines)
		}
		read += n
	}
	b.ReportMetric(float64(read)/spent.Seconds(), "changes/s")
}
