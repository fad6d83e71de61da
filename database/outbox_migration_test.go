package database_test

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/pressly/goose/v3"

	"estatecrm/database/dbtest"
)

// The migration that moves the listing change log into the outbox
// (20261129223649): taken down and up again on a database holding both
// logs, a webhook endpoint and its deliveries, every line is an event of
// its project's listings topic, in order, numbered after the outbox's
// events; the endpoint's cursor and deliveries follow the renumbering; the
// floors say what was pruned before; listing_changes is gone.
func TestListingChangesMoveIntoTheOutbox(t *testing.T) {
	if !dbtest.OnPostgres() {
		t.Skip("versioned migrations are PostgreSQL's; set TEST_DATABASE_URL")
	}
	db := dbtest.Open(t) // at the latest version
	ctx := context.Background()
	p, err := goose.NewProvider(goose.DialectPostgres, db.SQL, os.DirFS("migrations"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(ctx, 20261129201051); err != nil {
		t.Fatal(err)
	}
	exec := func(q string) {
		t.Helper()
		if _, err := db.SQL.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The outbox kept 5..7 (1..4 pruned) and one event still unnumbered;
	// the log kept 3..5 (1..2 pruned), one line unnumbered, written last.
	exec(`INSERT INTO outbox_events (seq, topic, kind, payload, at) VALUES
  (5, 'PJ1', 'unit', '{}', now()), (6, 'PJ1', 'unit', '{}', now()), (7, 'complaints', 'complaint', '{}', now()),
  (NULL, 'PJ1', 'unit', '{}', now())`)
	exec(`INSERT INTO listing_changes (seq, listing_id, project_id, kind, at) VALUES
  (3, 'UN1', 'PJ1', 'UPSERT', now()), (4, 'UN2', 'PJ2', 'REMOVE', now()), (5, 'UN1', 'PJ1', 'UPSERT', now()),
  (NULL, 'UN3', 'PJ1', 'UPSERT', now())`)
	exec(`INSERT INTO webhook_endpoints (id, created_at, updated_at, url, secret, cursor) VALUES
  ('WE1', now(), now(), 'https://example.com/hook', 'whsec_x', 4)`)
	exec(`INSERT INTO webhook_deliveries (id, created_at, updated_at, seq, listing_id, kind, at, next_attempt_at, give_up_at, endpoint_id) VALUES
  ('WD1', now(), now(), 3, 'UN1', 'UPSERT', now(), now(), now(), 'WE1'),
  ('WD2', now(), now(), 4, 'UN2', 'REMOVE', now(), now(), now(), 'WE1')`)

	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	type event struct {
		seq                  int64
		topic, kind, payload string
	}
	rows, err := db.SQL.Query(`SELECT COALESCE(seq, 0), topic, kind, payload::jsonb::text FROM outbox_events
WHERE topic LIKE 'listings/%' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []event
	for rows.Next() {
		var e event
		if err := rows.Scan(&e.seq, &e.topic, &e.kind, &e.payload); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	rows.Close()
	want := []event{ // numbered after 7: line n is 7 + n
		{10, "listings/PJ1", "UPSERT", `{"listingId": "UN1", "projectId": "PJ1"}`},
		{11, "listings/PJ2", "REMOVE", `{"listingId": "UN2", "projectId": "PJ2"}`},
		{12, "listings/PJ1", "UPSERT", `{"listingId": "UN1", "projectId": "PJ1"}`},
		{0, "listings/PJ1", "UPSERT", `{"listingId": "UN3", "projectId": "PJ1"}`},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the outbox's listing events are %+v, want %+v", got, want)
	}
	var cursor int64
	if err := db.SQL.QueryRow(`SELECT cursor FROM webhook_endpoints WHERE id = 'WE1'`).Scan(&cursor); err != nil || cursor != 11 {
		t.Fatalf("the endpoint's cursor is %d (%v), want 11: line 4, renumbered", cursor, err)
	}
	var seqs []int64
	rows, err = db.SQL.Query(`SELECT seq FROM webhook_deliveries ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		_ = rows.Scan(&s)
		seqs = append(seqs, s)
	}
	rows.Close()
	if !slices.Equal(seqs, []int64{10, 11}) {
		t.Fatalf("the deliveries are at %v, want [10 11]", seqs)
	}
	floors := map[string]int64{}
	rows, err = db.SQL.Query(`SELECT id, seq FROM outbox_floors`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		var s int64
		_ = rows.Scan(&id, &s)
		floors[id] = s
	}
	rows.Close()
	if floors["live"] != 4 || floors["listings"] != 9 || len(floors) != 2 {
		t.Fatalf("floors %v; want live 4 (1..4 pruned) and listings 9 (lines 1..2, now 8..9)", floors)
	}
	var gone bool
	if err := db.SQL.QueryRow(`SELECT to_regclass('listing_changes') IS NULL`).Scan(&gone); err != nil || !gone {
		t.Fatalf("listing_changes is still there (%v)", err)
	}
}
